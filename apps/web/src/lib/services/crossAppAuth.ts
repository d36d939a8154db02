/** Why the hand-over to Hi.Events could not start, in terms a person can act on. */
export type CrossAppFailure =
  | 'signed_out'
  | 'not_allowed'
  | 'event_not_found'
  | 'hi_events_unreachable'
  | 'tuvens_unreachable'
  | 'start_here'
  | 'failed';

const FAILURES: readonly CrossAppFailure[] = [
  'signed_out',
  'not_allowed',
  'event_not_found',
  'hi_events_unreachable',
  'tuvens_unreachable',
  'start_here',
  'failed',
];

/** The failure named in a query parameter, when it names one. */
export function parseCrossAppFailure(value: string | null): CrossAppFailure | undefined {
  return FAILURES.find((failure) => failure === value);
}

/**
 * Where the browser goes to arrive signed in at Hi.Events. The token rides in the URL fragment,
 * which no server, log or Referer ever sees, with the `state` the connector gave this browser
 * (docs/architecture.md#sign-in-flow, step 5).
 */
export function crossAppLandingUrl(
  crossAppUrl: string,
  sessionToken: string,
  eventId: number,
  state: string,
): string {
  const fragment = new URLSearchParams({ session_token: sessionToken, event_id: String(eventId), state });
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
