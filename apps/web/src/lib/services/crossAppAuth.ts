import type { ErrorBody, GenerateSessionResponse } from '#lib/apis/hievents/extendedEventTypes.ts';

/** The web app's own route that forwards the signed-in user's JWT to tuvens-api. */
export const GENERATE_SESSION_ROUTE = '/api/cross-app/generate-session';

/** Why the hand-over to Hi.Events could not start, in terms a person can act on. */
export type CrossAppFailure =
  | 'signed_out'
  | 'not_allowed'
  | 'event_not_found'
  | 'hi_events_unreachable'
  | 'tuvens_unreachable'
  | 'failed';

export type CrossAppStart = { ok: true; url: string } | { ok: false; reason: CrossAppFailure };

/**
 * Where the browser goes to arrive signed in at Hi.Events. The token rides in the URL fragment,
 * which no server, log or Referer ever sees (docs/architecture.md#sign-in-flow, step 3).
 */
export function crossAppLandingUrl(crossAppUrl: string, sessionToken: string, eventId: number): string {
  const fragment = new URLSearchParams({ session_token: sessionToken, event_id: String(eventId) });
  return `${crossAppUrl}/auth/cross-app#${fragment}`;
}

const FAILURE_BY_STATUS: Record<number, CrossAppFailure> = {
  401: 'signed_out',
  403: 'not_allowed',
  404: 'event_not_found',
};

/** Why the web app's server refused, from its answer's status and error code. */
export function crossAppFailureOf(status: number, code: string | undefined): CrossAppFailure {
  if (code === 'hi_events_unreachable') return 'hi_events_unreachable';
  if (code === 'api_unreachable') return 'tuvens_unreachable';
  return FAILURE_BY_STATUS[status] ?? 'failed';
}

/**
 * Asks the web app's server for a cross-app session for one event and answers the Hi.Events URL to go
 * to, or why that is not possible.
 */
export async function startCrossAppSession(eventId: number, crossAppUrl: string): Promise<CrossAppStart> {
  let response: Response;
  try {
    response = await fetch(GENERATE_SESSION_ROUTE, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId }),
    });
  } catch {
    return { ok: false, reason: 'tuvens_unreachable' };
  }
  if (response.ok) {
    const session = (await response.json().catch(() => undefined)) as GenerateSessionResponse | undefined;
    if (typeof session?.session_token !== 'string') return { ok: false, reason: 'failed' };
    return { ok: true, url: crossAppLandingUrl(crossAppUrl, session.session_token, eventId) };
  }
  const body = (await response.json().catch(() => undefined)) as ErrorBody | undefined;
  return { ok: false, reason: crossAppFailureOf(response.status, body?.error?.code) };
}
