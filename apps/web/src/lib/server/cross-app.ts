import type { Cookies } from '@sveltejs/kit';
import { serverConfig } from './config.ts';
import { needsSecureCookie } from './session.ts';
import { type ApiResult, getEvent } from './tuvens-api.ts';

const PROBE_TIMEOUT_MS = 3_000;

/**
 * Marks that this browser chose "Enable ticketing" for an event on this site. Only a same-origin
 * form post sets it, so `/cross-app/authorize` mints a session only for a hand-over the person
 * started here, never for one another site sent their browser into.
 */
export const CROSS_APP_START_COOKIE = 'tuvens_cross_app_start';
/** As long as the connector's state cookie lives. */
const CROSS_APP_START_TTL_S = 600;
const AUTHORIZE_PATH = '/cross-app/authorize';

/**
 * Whether the Hi.Events side answers at all. Asked before the hand-over starts, so that a person is
 * told in plain words instead of being sent to a browser error page.
 */
async function isCrossAppReachable(): Promise<boolean> {
  try {
    const response = await fetch(`${serverConfig.crossAppInternalUrl}/auth/cross-app`, {
      method: 'HEAD',
      redirect: 'manual',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return response.status < 500;
  } catch {
    return false;
  }
}

/**
 * Checks that the hand-over to Hi.Events for one event can start (docs/architecture.md#sign-in-flow,
 * step 1): the user is signed in and may manage the event (asked without side effects), and the
 * Hi.Events side answers.
 */
export async function checkCrossAppStart(
  token: string | undefined,
  eventId: number,
): Promise<{ ok: true } | Extract<ApiResult<never>, { ok: false }>> {
  if (!token) return { ok: false, status: 401, code: 'unauthorized', message: 'Sign in first' };
  const [event, reachable] = await Promise.all([getEvent(eventId, token), isCrossAppReachable()]);
  if (!event.ok) return event;
  if (!event.data.value.can_manage_ticketing) {
    const message = 'Only an owner or admin of the event’s account can enable ticketing';
    return { ok: false, status: 403, code: 'forbidden', message };
  }
  if (!reachable) {
    return { ok: false, status: 503, code: 'hi_events_unreachable', message: 'Hi.Events cannot be reached' };
  }
  return { ok: true };
}

/** Where the connector starts a sign-in bound to this browser. */
export function crossAppStartUrl(eventId: number): string {
  return `${serverConfig.crossAppUrl}/auth/cross-app/start?event_id=${eventId}`;
}

export function markCrossAppStart(cookies: Cookies, url: URL, eventId: number): void {
  cookies.set(CROSS_APP_START_COOKIE, String(eventId), {
    path: AUTHORIZE_PATH,
    httpOnly: true,
    sameSite: 'lax',
    secure: needsSecureCookie(url),
    maxAge: CROSS_APP_START_TTL_S,
  });
}

/** Whether this browser started the hand-over for this event here; the mark is used up either way. */
export function takeCrossAppStart(cookies: Cookies, url: URL, eventId: number): boolean {
  const marked = cookies.get(CROSS_APP_START_COOKIE);
  if (marked !== undefined) {
    cookies.delete(CROSS_APP_START_COOKIE, { path: AUTHORIZE_PATH, secure: needsSecureCookie(url) });
  }
  return marked === String(eventId);
}
