import { redirect } from '@sveltejs/kit';
import { CodeChallenge, EventId } from '@tuvens/contracts';
import { serverConfig } from '#lib/server/config.ts';
import { takeCrossAppStart } from '#lib/server/cross-app.ts';
import { generateSession } from '#lib/server/tuvens-api.ts';
import { type CrossAppFailure, crossAppFailureOf, crossAppLandingUrl } from '#lib/services/crossAppAuth.ts';
import type { RequestHandler } from './$types';

const STATE = /^[A-Za-z0-9_-]{43}$/;

const invalid = (message: string) =>
  Response.json(
    { error: { code: 'validation_failed', message } },
    { status: 400, headers: { 'cache-control': 'no-store' } },
  );

/**
 * `GET /cross-app/authorize?event_id&state&code_challenge`, step 3 of the sign-in
 * (docs/architecture.md#sign-in-flow): the connector sends the browser here, top-level, after keeping
 * `state` and the PKCE verifier in its own cookie. For the signed-in person who chose "Enable
 * ticketing" here, tuvens-api mints a session bound to `code_challenge`, and the browser goes on to
 * the connector's landing with the token and `state` in the fragment.
 */
export const GET: RequestHandler = async ({ url, locals, cookies }) => {
  const eventId = EventId.safeParse(Number(url.searchParams.get('event_id')));
  const codeChallenge = CodeChallenge.safeParse(url.searchParams.get('code_challenge'));
  const state = url.searchParams.get('state') ?? '';
  if (!eventId.success) return invalid('event_id must be a positive whole number');
  if (!codeChallenge.success) return invalid('code_challenge must be a 43-character S256 challenge');
  if (!STATE.test(state)) return invalid('state must be 43 base64url characters');

  if (!locals.token) redirect(303, `/login?redirectTo=${encodeURIComponent(`${url.pathname}${url.search}`)}`);
  const backToEvent: (failure: CrossAppFailure) => never = (failure) =>
    redirect(303, `/event/${eventId.data}?ticketing=${failure}`);
  // Only a hand-over this person started on this site goes on: another site can send their
  // browser to the connector's start, but cannot make this site mint a session for it.
  if (!takeCrossAppStart(cookies, url, eventId.data)) backToEvent('start_here');

  const session = await generateSession(locals.token, eventId.data, codeChallenge.data);
  if (!session.ok) backToEvent(crossAppFailureOf(session.status, session.code));
  const landing = crossAppLandingUrl(
    serverConfig.crossAppUrl,
    session.data.session_token,
    eventId.data,
    state,
  );
  return new Response(null, {
    status: 303,
    headers: { location: landing, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  });
};
