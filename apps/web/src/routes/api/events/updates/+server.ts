import { EVENT_UPDATES_PATH } from '@tuvens/contracts';
import { serverConfig } from '#lib/server/config.ts';
import { RelayCaps } from '#lib/server/relay-caps.ts';
import { clientHeaders } from '#lib/server/tuvens-api.ts';
import { dev } from '$app/env';
import type { RequestHandler } from './$types';

const caps = new RelayCaps({
  maxStreams: serverConfig.relayMaxStreams,
  maxPerClient: serverConfig.relayMaxStreamsPerClient,
});

/**
 * Ended when this server is told to stop (SIGTERM or SIGINT), so that every relayed stream ends at once
 * and its browser reconnects, honouring `retry:`, to an instance that stays; otherwise the server would
 * wait for the streams to end by themselves until adapter-node's `SHUTDOWN_TIMEOUT`.
 */
const shutdown = new AbortController();
if (!dev) {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => shutdown.abort());
}

const refusal = (status: number, code: string, message: string) =>
  Response.json(
    { error: { code, message } },
    { status, headers: { 'cache-control': 'no-store', 'retry-after': '5' } },
  );

/**
 * `GET /api/events/updates` on this site: tuvens-api's live updates stream, relayed with the viewer's
 * sign-in. A browser's `EventSource` cannot send an `Authorization` header, and the JWT lives in an
 * HttpOnly cookie that page scripts never see, so a signed-in viewer listens here, same-origin, to
 * hear the changes of their accounts' private events too. Query, `Last-Event-ID` and the answer pass
 * through as they are; when the browser goes away, so does the upstream stream. Streams are capped
 * in all and per browser address (`RELAY_MAX_STREAMS`, `RELAY_MAX_STREAMS_PER_CLIENT`).
 */
export const GET: RequestHandler = async ({ url, request, locals, getClientAddress }) => {
  if (shutdown.signal.aborted) return refusal(503, 'service_unavailable', 'This server is stopping');
  const admitted = caps.admit(getClientAddress());
  if (!admitted.ok) {
    return refusal(
      admitted.status,
      admitted.status === 429 ? 'rate_limited' : 'service_unavailable',
      admitted.message,
    );
  }
  const { release } = admitted;
  request.signal.addEventListener('abort', release, { once: true });

  const upstreamUrl = new URL(`${serverConfig.apiInternalUrl}${EVENT_UPDATES_PATH}`);
  upstreamUrl.search = url.search;
  const headers: Record<string, string> = { accept: 'text/event-stream', ...clientHeaders() };
  if (locals.token) headers.authorization = `Bearer ${locals.token}`;
  const lastEventId = request.headers.get('last-event-id');
  if (lastEventId !== null) headers['last-event-id'] = lastEventId;

  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl, {
      headers,
      signal: AbortSignal.any([request.signal, shutdown.signal]),
      redirect: 'error',
    });
  } catch {
    release();
    return refusal(503, 'api_unreachable', 'Live updates are unavailable for the moment');
  }
  return new Response(upstream.body ? releasedAtEnd(upstream.body, release) : null, {
    status: upstream.status,
    headers: {
      'content-type': upstream.headers.get('content-type') ?? 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      // Proxies in front of this site must pass each message on at once rather than buffer the stream.
      'x-accel-buffering': 'no',
    },
  });
};

/**
 * The same bytes, calling `release` once the stream ends, fails or is cancelled by the browser leaving.
 * A stream cut by this server stopping ends as a finished one, which the browser simply reconnects.
 */
function releasedAtEnd(body: ReadableStream<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        if (shutdown.signal.aborted) controller.close();
        else controller.error(error);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
}
