import { ErrorBody, EventId, HI_EVENTS_TOKEN_COOKIE, SessionToken } from '@tuvens/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute } from '../http/context.ts';
import { findConnectorSession, sessionCookieName } from './connector-sessions.ts';
import { buildLandingPage } from './landing-page.ts';
import {
  clearSignInCookies,
  requireConnectorSession,
  requireOwnOrigin,
  setSignInCookies,
} from './SecureCrossAppAuthMiddleware.ts';
import { SecureCrossAppAuthService, SIGN_IN_MESSAGES } from './SecureCrossAppAuthService.ts';
import { endConnectorSession } from './session-guard.ts';
import {
  clearSignInBindingCookie,
  createSignInBinding,
  matchesState,
  readSignInBinding,
  setSignInBindingCookie,
} from './sign-in-binding.ts';

const StartQuery = z.object({
  event_id: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be an event id')
    .transform(Number)
    .pipe(EventId),
});

const ValidateRequest = z.object({
  session_token: z.string().max(512),
  /** The event named in the link; tuvens-api refuses, unconsumed, a session for another event. */
  event_id: z.union([z.string().max(20), z.number()]).nullish(),
  /** The `state` of a bound link, which must be the one in this browser's state cookie. */
  state: z.string().max(128).nullish(),
  /** That the person confirmed an unbound link after being shown whom it signs in as. */
  confirmed: z.boolean().optional(),
});

const SignedInResponse = z.object({
  redirect_to: z.string(),
  hi_events_event_id: z.number().int(),
  hi_events_event_url: z.string(),
});

/** An unbound link, not used yet: whom it would sign in as, for the person to confirm or leave. */
const ConfirmationResponse = z.object({
  confirmation_required: z.literal(true),
  tuvens_user: z.object({ name: z.string(), email: z.string() }),
  account: z.object({ name: z.string() }),
  event: z.object({ id: z.number().int(), title: z.string() }),
  /** Whether this browser is signed in to Hi.Events as someone else now, whom confirming would replace. */
  replaces_other_sign_in: z.boolean(),
});

const ValidateResponse = z.union([SignedInResponse, ConfirmationResponse]);

/** The event id a link names, when it names one well-formed. */
function linkedEventOf(value: string | number | null | undefined): number | undefined {
  const parsed = EventId.safeParse(
    typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value,
  );
  return parsed.success ? parsed.data : undefined;
}

const SessionResponse = z.object({
  tuvens_user_id: z.number().int(),
  tuvens_account_id: z.number().int(),
  tuvens_event_id: z.number().int(),
  hi_events_user_id: z.number().int(),
  hi_events_account_id: z.number().int(),
  expires_at: z.string(),
});

const SignOutResponse = z.object({ signed_out: z.literal(true), redirect_to: z.string() });

/** The landing page, the sign-in it posts, the session it opens and sign-out. */
export function registerAuthRoutes(app: App, ctx: AppContext, onStatusQueued: () => void): void {
  const { config, clock, hiEvents, metrics } = ctx;
  const landing = buildLandingPage(config);
  const service = new SecureCrossAppAuthService({ ...ctx, log: app.log, onStatusQueued });
  const signInLimit = perMinute(config.rateLimitsPerMinute.signIn);
  const authenticate = requireConnectorSession(ctx);

  // Step 2 of the sign-in (docs/architecture.md#sign-in-flow): this browser keeps the state and the
  // verifier, and Tuvens receives only the challenge, on a top-level navigation.
  app.get(
    '/auth/cross-app/start',
    { config: signInLimit, schema: { hide: true, querystring: StartQuery } },
    async (request, reply) => {
      const { state, codeVerifier, codeChallenge } = createSignInBinding();
      setSignInBindingCookie(reply, config, { state, codeVerifier });
      const authorize = new URL('/cross-app/authorize', config.tuvens.webUrl);
      authorize.search = new URLSearchParams({
        event_id: String(request.query.event_id),
        state,
        code_challenge: codeChallenge,
      }).toString();
      return reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .redirect(authorize.href, 303);
    },
  );

  app.get('/auth/cross-app', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', landing.csp)
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(landing.html),
  );

  app.post(
    '/auth/cross-app/validate',
    {
      config: signInLimit,
      preValidation: requireOwnOrigin(config),
      schema: {
        body: ValidateRequest,
        response: {
          200: ValidateResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
          429: ErrorBody,
          502: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      const token = SessionToken.safeParse(request.body.session_token);
      if (!token.success) {
        metrics.signIns.inc({ outcome: 'link_invalid' });
        throw new AppError('link_invalid', SIGN_IN_MESSAGES.link_invalid);
      }
      const { state, confirmed } = request.body;
      const eventId = linkedEventOf(request.body.event_id);
      const binding = readSignInBinding(request);
      let result: Awaited<ReturnType<typeof service.signIn>>;
      if (state) {
        // A bound link signs in only the browser that started it: elsewhere nothing is used.
        if (!matchesState(binding, state)) {
          metrics.signIns.inc({ outcome: 'link_other_browser' });
          throw new AppError('link_other_browser', SIGN_IN_MESSAGES.link_other_browser);
        }
        clearSignInBindingCookie(reply, config);
        result = await service.signIn(token.data, { codeVerifier: binding!.codeVerifier, eventId });
      } else {
        // An unbound link (made without a challenge, by an API client): the person sees whom it
        // signs in as and confirms before anything is used or replaced.
        const described = await service.describeLink(token.data);
        if (!described.ok) {
          metrics.signIns.inc({ outcome: described.code });
          throw new AppError(described.code, described.message);
        }
        const { description } = described;
        if (description.bound) {
          metrics.signIns.inc({ outcome: 'link_other_browser' });
          throw new AppError('link_other_browser', SIGN_IN_MESSAGES.link_other_browser);
        }
        if (confirmed !== true) {
          metrics.signIns.inc({ outcome: 'confirmation_required' });
          return {
            confirmation_required: true as const,
            tuvens_user: { name: description.user_data.name, email: description.user_data.email },
            account: { name: description.account_data.name },
            event: description.event,
            replaces_other_sign_in: await isSignedInAsAnother(request, description.user_data.id),
          };
        }
        result = await service.signIn(token.data, { eventId });
      }
      metrics.signIns.inc({ outcome: result.ok ? 'success' : result.code });
      if (!result.ok) throw new AppError(result.code, result.message);
      const { signedIn } = result;
      setSignInCookies(reply, {
        config,
        clock,
        hiEvents,
        session: signedIn.session,
        hiEventsToken: signedIn.hiEventsToken,
      });
      return {
        redirect_to: signedIn.redirectTo,
        hi_events_event_id: signedIn.hiEventsEventId,
        hi_events_event_url: signedIn.hiEventsEventUrl,
      };
    },
  );

  /** Whether this browser is signed in to Hi.Events now as anyone but this Tuvens user. */
  async function isSignedInAsAnother(request: FastifyRequest, tuvensUserId: number): Promise<boolean> {
    const token = request.cookies[sessionCookieName(config.secureCookies)];
    const current = token ? await findConnectorSession(ctx.db, token, clock()) : undefined;
    if (current) return current.tuvens_user_id !== tuvensUserId;
    // A Hi.Events sign-in that did not come through Tuvens belongs to someone this cannot name.
    return Boolean(request.cookies[HI_EVENTS_TOKEN_COOKIE]);
  }

  app.get(
    '/auth/session',
    {
      preHandler: authenticate,
      schema: { response: { 200: SessionResponse, 401: ErrorBody } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const session = request.connectorSession!;
      return {
        tuvens_user_id: session.tuvens_user_id,
        tuvens_account_id: session.tuvens_account_id,
        tuvens_event_id: session.tuvens_event_id,
        hi_events_user_id: session.hi_events_user_id,
        hi_events_account_id: session.hi_events_account_id,
        expires_at: session.expires_at.toISOString(),
      };
    },
  );

  app.post(
    '/auth/sign-out',
    {
      config: signInLimit,
      preValidation: requireOwnOrigin(config),
      schema: { response: { 200: SignOutResponse, 403: ErrorBody } },
    },
    async (request, reply) => {
      try {
        await authenticate(request);
      } catch {
        // Signing out without a session still clears whatever cookies are left.
      }
      // Ends the session and signs every Hi.Events token issued for it out of Hi.Events.
      if (request.connectorSession) {
        await endConnectorSession({ ...ctx, log: request.log }, request.connectorSession.id);
      }
      const hiEventsToken = request.cookies[HI_EVENTS_TOKEN_COOKIE];
      if (hiEventsToken) await hiEvents.signOut(hiEventsToken);
      clearSignInCookies(reply, { config, hiEvents });
      return { signed_out: true as const, redirect_to: config.tuvens.webUrl };
    },
  );
}
