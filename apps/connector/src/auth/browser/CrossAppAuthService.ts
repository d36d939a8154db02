/** The link Tuvens sent the person with, as read from the address. */
export interface CrossAppLink {
  sessionToken: string | null;
  eventId: string | null;
}

export type CrossAppOutcome =
  | { ok: true; redirectTo: string }
  | { ok: false; code: string; message: string | null };

/**
 * The seed's `CrossAppAuthService`, on the landing page in the browser. The session token arrives in
 * the URL fragment, which no server, log or Referer ever sees; this takes it out of the address
 * bar and history at once and hands it to the connector in a POST body.
 *
 * It runs as text inside the page (see `landing-page.ts`), so it refers to nothing but its own
 * members and the browser's globals.
 */
export class CrossAppAuthService {
  readonly endpoint: string;

  constructor(endpoint: string) {
    this.endpoint = endpoint;
  }

  /** Reads `session_token` and `event_id` from the fragment and removes the fragment from the address and history. */
  takeLinkFromAddress(location: Location, history: History): CrossAppLink {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const link = { sessionToken: params.get('session_token'), eventId: params.get('event_id') };
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return link;
  }

  /** Asks the connector to validate the link; any answer other than success comes back with its error code. */
  async validate(link: CrossAppLink): Promise<CrossAppOutcome> {
    if (!link.sessionToken || !/^[A-Za-z0-9_-]{43}$/.test(link.sessionToken)) {
      return { ok: false, code: 'link_invalid', message: null };
    }
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ session_token: link.sessionToken, event_id: link.eventId }),
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      return { ok: false, code: 'connector_unreachable', message: null };
    }
    const body = (await response.json().catch(() => null)) as {
      redirect_to?: unknown;
      error?: { code?: unknown; message?: unknown };
    } | null;
    if (response.ok && typeof body?.redirect_to === 'string') {
      return { ok: true, redirectTo: body.redirect_to };
    }
    const code = typeof body?.error?.code === 'string' ? body.error.code : 'unavailable';
    const message = typeof body?.error?.message === 'string' ? body.error.message : null;
    return { ok: false, code, message };
  }
}
