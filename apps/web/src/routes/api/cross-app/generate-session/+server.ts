import { EventId } from '@tuvens/contracts';
import { startCrossAppSession } from '#lib/server/cross-app.ts';
import { isSameOriginFetch } from '#lib/server/same-origin.ts';
import type { RequestHandler } from './$types';

const NO_STORE = { 'cache-control': 'no-store' };

const failure = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: NO_STORE });

/**
 * `POST {eventId}` → `{session_token, expires_at}`: forwards the signed-in user's JWT to tuvens-api,
 * which decides whether they may manage the event's ticketing (docs/contract.md#web-generate-session).
 */
export const POST: RequestHandler = async ({ request, url, locals }) => {
  // Only this site's own pages may mint a token that signs the user in elsewhere.
  if (!isSameOriginFetch(request, url)) {
    return failure(403, 'cross_origin', 'Only pages of this site may start a Hi.Events session');
  }
  if (!request.headers.get('content-type')?.startsWith('application/json')) {
    return failure(415, 'unsupported_media_type', 'Send JSON: {"eventId": <number>}');
  }
  const body = (await request.json().catch(() => undefined)) as { eventId?: unknown } | undefined;
  const eventId = EventId.safeParse(body?.eventId);
  if (!eventId.success) return failure(400, 'validation_failed', 'eventId must be a positive whole number');

  const session = await startCrossAppSession(locals.token, eventId.data);
  if (!session.ok) return failure(session.status, session.code, session.message);
  return Response.json(session.data, { headers: NO_STORE });
};
