/** The link Tuvens sent the person with, as read from the address. */
export interface CrossAppLink {
  sessionToken: string | null;
  eventId: string | null;
  /** The `state` of a link this browser started; absent from an unbound link. */
  state: string | null;
}

/** Whom an unbound link would sign in as, for the person to confirm. */
export interface CrossAppConfirmation {
  userName: string;
  userEmail: string;
  accountName: string;
  eventTitle: string;
  replacesOtherSignIn: boolean;
}

export type CrossAppOutcome =
  | { ok: true; redirectTo: string }
  | { ok: 'confirm'; confirmation: CrossAppConfirmation }
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

  /** Reads `session_token`, `event_id` and `state` from the fragment and removes the fragment from the address and history. */
  takeLinkFromAddress(location: Location, history: History): CrossAppLink {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const link = {
      sessionToken: params.get('session_token'),
      eventId: params.get('event_id'),
      state: params.get('state'),
    };
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return link;
  }

  /**
   * Asks the connector to validate the link; any answer other than success comes back with its
   * error code, or, for an unbound link not yet `confirmed`, as whom it would sign in as.
   */
  async validate(link: CrossAppLink, confirmed = false): Promise<CrossAppOutcome> {
    if (!link.sessionToken || !/^[A-Za-z0-9_-]{43}$/.test(link.sessionToken)) {
      return { ok: false, code: 'link_invalid', message: null };
    }
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          session_token: link.sessionToken,
          event_id: link.eventId,
          ...(link.state ? { state: link.state } : {}),
          ...(confirmed ? { confirmed: true } : {}),
        }),
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
      confirmation_required?: unknown;
      tuvens_user?: { name?: unknown; email?: unknown };
      account?: { name?: unknown };
      event?: { title?: unknown };
      replaces_other_sign_in?: unknown;
      error?: { code?: unknown; message?: unknown };
    } | null;
    if (response.ok && typeof body?.redirect_to === 'string') {
      return { ok: true, redirectTo: body.redirect_to };
    }
    if (response.ok && body?.confirmation_required === true) {
      const text = (value: unknown) => (typeof value === 'string' ? value : '');
      return {
        ok: 'confirm',
        confirmation: {
          userName: text(body.tuvens_user?.name),
          userEmail: text(body.tuvens_user?.email),
          accountName: text(body.account?.name),
          eventTitle: text(body.event?.title),
          replacesOtherSignIn: body.replaces_other_sign_in === true,
        },
      };
    }
    const code = typeof body?.error?.code === 'string' ? body.error.code : 'unavailable';
    const message = typeof body?.error?.message === 'string' ? body.error.message : null;
    return { ok: false, code, message };
  }
}
