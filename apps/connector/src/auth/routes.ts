import { ErrorBody, HI_EVENTS_TOKEN_COOKIE, SessionToken } from '@tuvens/contracts';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute } from '../http/context.ts';
import { buildLandingPage } from './landing-page.ts';
import {
  clearSignInCookies,
  requireConnectorSession,
  requireOwnOrigin,
  setSignInCookies,
} from './SecureCrossAppAuthMiddleware.ts';
import { SecureCrossAppAuthService, SIGN_IN_MESSAGES } from './SecureCrossAppAuthService.ts';
import { endConnectorSession } from './session-guard.ts';

const ValidateRequest = z.object({
  session_token: z.string().max(512),
  /** The event named in the link; the session itself is what decides, so this is only cross-checked. */
  event_id: z.union([z.string().max(20), z.number()]).nullish(),
});

const ValidateResponse = z.object({
  redirect_to: z.string(),
  hi_events_event_id: z.number().int(),
  hi_events_event_url: z.string(),
});

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
      const result = await service.signIn(token.data);
      metrics.signIns.inc({ outcome: result.ok ? 'success' : result.code });
      if (!result.ok) throw new AppError(result.code, result.message);
      const { signedIn } = result;
      const linkedEvent = request.body.event_id;
      if (linkedEvent != null && String(linkedEvent) !== String(signedIn.tuvensEventId)) {
        request.log.info(
          { tuvensEventId: signedIn.tuvensEventId },
          'the link named another event than its session; the session’s event was used',
        );
      }
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
