import { EVENT_UPDATES_PATH } from '@tuvens/contracts';
import { serverConfig } from '#lib/server/config.ts';
import { clientHeaders } from '#lib/server/tuvens-api.ts';
import type { RequestHandler } from './$types';

/**
 * `GET /api/events/updates` on this site: tuvens-api's live updates stream, relayed with the viewer's
 * sign-in. A browser's `EventSource` cannot send an `Authorization` header, and the JWT lives in an
 * HttpOnly cookie that page scripts never see, so a signed-in viewer listens here, same-origin, to
 * hear the changes of their accounts' private events too. Query, `Last-Event-ID` and the answer pass
 * through as they are; when the browser goes away, so does the upstream stream.
 */
export const GET: RequestHandler = async ({ url, request, locals }) => {
  const upstreamUrl = new URL(`${serverConfig.apiInternalUrl}${EVENT_UPDATES_PATH}`);
  upstreamUrl.search = url.search;
  const headers: Record<string, string> = { accept: 'text/event-stream', ...clientHeaders() };
  if (locals.token) headers.authorization = `Bearer ${locals.token}`;
  const lastEventId = request.headers.get('last-event-id');
  if (lastEventId !== null) headers['last-event-id'] = lastEventId;

  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl, { headers, signal: request.signal, redirect: 'error' });
  } catch {
    return Response.json(
      { error: { code: 'api_unreachable', message: 'Live updates are unavailable for the moment' } },
      { status: 503, headers: { 'cache-control': 'no-store', 'retry-after': '5' } },
    );
  }
  return new Response(upstream.body, {
    status: upstream.status,
    headers: {
      'content-type': upstream.headers.get('content-type') ?? 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      // Proxies in front of this site must pass each message on at once rather than buffer the stream.
      'x-accel-buffering': 'no',
    },
  });
};
