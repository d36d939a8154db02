import type { FastifyBaseLogger } from 'fastify';
import { AppError, type ErrorCode } from '../errors.ts';
import { HiEventsError } from '../hi-events/adapter.ts';
import { linkEvent, registerEventWebhook } from '../linking/event-links.ts';
import { type LinkingDeps, linkIdentity } from '../linking/identities.ts';
import type { SessionBinding, SessionDescription, TuvensApiClient } from '../tuvens/tuvens-api.ts';
import { createConnectorSession } from './connector-sessions.ts';
import { recordIssuedToken, sealSessionToken } from './session-guard.ts';

export interface SignedIn {
  /** The Tuvens event of the session. */
  tuvensEventId: number;
  /** The event's ticket set-up in Hi.Events, where the person goes next. */
  redirectTo: string;
  hiEventsEventId: number;
  hiEventsEventUrl: string;
  /** Signs the person in to Hi.Events' pages; it goes into Hi.Events' `token` cookie. */
  hiEventsToken: string;
  /** The connector's own session. */
  session: { token: string; expiresAt: Date };
}

export type SignInResult =
  | { ok: true; signedIn: SignedIn }
  | { ok: false; code: SignInFailure; message: string };

export type SignInFailure = Extract<
  ErrorCode,
  | 'link_expired'
  | 'link_used'
  | 'link_invalid'
  | 'link_other_browser'
  | 'not_allowed'
  | 'tuvens_unreachable'
  | 'hi_events_unreachable'
  | 'hi_events_email_in_use'
  | 'busy'
  | 'unavailable'
>;

/** What each failure says to the person, in plain words; the page adds the way back to Tuvens. */
export const SIGN_IN_MESSAGES: Record<SignInFailure, string> = {
  link_expired: 'This sign-in link has expired. Go back to Tuvens and choose “Enable ticketing” again.',
  link_used: 'This sign-in link was already used. Go back to Tuvens and choose “Enable ticketing” again.',
  link_invalid: 'This sign-in link is not valid. Go back to Tuvens and choose “Enable ticketing” again.',
  link_other_browser:
    'This sign-in link was started in another browser, so it cannot sign you in here. Nothing was changed. If you meant to set up ticketing, go back to Tuvens and choose “Enable ticketing” in this browser.',
  not_allowed:
    'Your Tuvens account is not allowed to manage ticketing for this event. Ask an owner or admin of the event’s organization.',
  tuvens_unreachable:
    'We could not reach Tuvens to check your sign-in. Please go back to Tuvens and try again in a few minutes.',
  hi_events_unreachable:
    'The ticketing service is not answering right now. Please go back to Tuvens and try again in a few minutes.',
  hi_events_email_in_use:
    'Hi.Events already has a user with your email address that Tuvens did not create for you, and Tuvens will not sign you in as someone else. Ask Tuvens support to link them.',
  busy: 'Ticketing for this event is still being set up. Please try again in a moment.',
  unavailable: 'Ticketing sign-in is not available right now. Please try again later.',
};

const VALIDATION_FAILURES = {
  expired: 'link_expired',
  used: 'link_used',
  invalid: 'link_invalid',
  not_allowed: 'not_allowed',
  other_browser: 'link_other_browser',
  unreachable: 'tuvens_unreachable',
  misconfigured: 'unavailable',
} as const satisfies Record<string, SignInFailure>;

export interface SecureCrossAppAuthDeps extends LinkingDeps {
  tuvens: TuvensApiClient;
  log: FastifyBaseLogger;
  /** Told when a status was queued, so that delivery need not wait for its next poll. */
  onStatusQueued: () => void;
}

/**
 * The seed's `SecureCrossAppAuthService`: turns a one-time cross-app session token from Tuvens
 * into a signed-in person at the event's ticket set-up in Hi.Events. It validates the token with
 * tuvens-api, maps the user and account, links the event (queueing status `setup` the first time),
 * and opens the connector's own session.
 */
export class SecureCrossAppAuthService {
  readonly #deps: SecureCrossAppAuthDeps;

  constructor(deps: SecureCrossAppAuthDeps) {
    this.#deps = deps;
  }

  /**
   * Whom and what an unbound link would sign in as, read from tuvens-api without using the token,
   * so that the person can be asked first.
   */
  async describeLink(
    sessionToken: string,
  ): Promise<Extract<SessionDescription, { ok: true }> | Extract<SignInResult, { ok: false }>> {
    const described = await this.#deps.tuvens.describeSession(sessionToken);
    if (described.ok) return described;
    return this.#refuse(described);
  }

  /**
   * Signs in with a token; `binding` carries this browser's verifier for a bound link and the
   * event the link named, which tuvens-api checks in the statement that consumes the token.
   */
  async signIn(sessionToken: string, binding: SessionBinding = {}): Promise<SignInResult> {
    const { tuvens, hiEvents, log, db, clock, config } = this.#deps;
    const validation = await tuvens.validateSession(sessionToken, binding);
    if (!validation.ok) return this.#refuse(validation);
    const { session } = validation;
    if (session.account_data.role === 'member') return failure('not_allowed');

    try {
      const linked = await linkIdentity(this.#deps, session);
      const { link, created } = await linkEvent(this.#deps, session.event, linked);
      if (created) this.#deps.onStatusQueued();
      try {
        await registerEventWebhook(this.#deps, link, linked.identity);
      } catch (error) {
        // The person can set up tickets all the same: the reconciler registers it later, and until then
        // reads the event's status itself.
        log.error(
          { err: error, tuvensEventId: link.tuvens_event_id },
          'could not register the Hi.Events webhook',
        );
      }
      const connectorSession = await createConnectorSession(
        db,
        {
          tuvensUserId: session.user_data.id,
          tuvensAccountId: session.account_data.id,
          tuvensEventId: session.event.id,
          hiEventsUserId: linked.identity.userId,
          hiEventsAccountId: linked.identity.accountId,
          sealedTuvensSessionToken: sealSessionToken(config, sessionToken),
        },
        clock(),
        config.sessionTtlSeconds,
      );
      const hiEventsToken = await hiEvents.issueSignInToken(linked.identity);
      await recordIssuedToken(this.#deps, connectorSession.id, hiEventsToken);
      log.info(
        {
          tuvensUserId: session.user_data.id,
          tuvensEventId: session.event.id,
          hiEventsEventId: link.hi_events_event_id,
          created,
        },
        'signed in to Hi.Events through Tuvens',
      );
      return {
        ok: true,
        signedIn: {
          tuvensEventId: session.event.id,
          redirectTo: hiEvents.ticketSetupUrl(link.hi_events_event_id),
          hiEventsEventId: link.hi_events_event_id,
          hiEventsEventUrl: link.hi_events_event_url,
          hiEventsToken: hiEventsToken.token,
          session: connectorSession,
        },
      };
    } catch (error) {
      if (error instanceof AppError && error.code in SIGN_IN_MESSAGES) {
        return failure(error.code as SignInFailure);
      }
      if (error instanceof HiEventsError) {
        log.error(
          { err: error, kind: error.kind, status: error.status },
          'Hi.Events did not do what the sign-in needed',
        );
        return failure('hi_events_unreachable');
      }
      throw error;
    }
  }

  #refuse(refusal: Extract<SessionDescription, { ok: false }>): Extract<SignInResult, { ok: false }> {
    const code = VALIDATION_FAILURES[refusal.reason];
    if (code === 'unavailable') {
      this.#deps.log.error({ detail: refusal.detail }, 'tuvens-api refused the shared secret');
    } else {
      this.#deps.log.info(
        { reason: refusal.reason, detail: refusal.detail },
        'cross-app session not accepted',
      );
    }
    return failure(code);
  }
}

function failure(code: SignInFailure): Extract<SignInResult, { ok: false }> {
  return { ok: false, code, message: SIGN_IN_MESSAGES[code] };
}
