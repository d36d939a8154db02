import type { GenerateSessionResponse } from '@tuvens/contracts';
import { serverConfig } from './config.ts';
import { type ApiResult, generateSession, getEvent } from './tuvens-api.ts';

const PROBE_TIMEOUT_MS = 3_000;

/**
 * Whether the Hi.Events side answers at all. Asked before a single-use token is minted, so that a
 * person is told in plain words instead of being sent to a browser error page.
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
 * Starts the hand-over to Hi.Events for one event (docs/architecture.md#sign-in-flow, step 1): tuvens-api checks that
 * the signed-in user may manage the event and mints a single-use session token. A token is minted only
 * when it can be used: the user may manage the event (asked first, without side effects) and the
 * Hi.Events side answers.
 */
export async function startCrossAppSession(
  token: string | undefined,
  eventId: number,
): Promise<ApiResult<GenerateSessionResponse>> {
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
  return generateSession(token, eventId);
}
