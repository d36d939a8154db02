import {
  DescribeSessionRequest,
  DescribeSessionResponse,
  ErrorBody,
  GenerateSessionRequest,
  GenerateSessionResponse,
  type Permission,
  SESSION_TOKEN_HEADER,
  SessionToken,
  UserAccountsResponse,
  ValidatePermissionRequest,
  ValidatePermissionResponse,
  ValidateSessionRequest,
  ValidateSessionResponse,
} from '@tuvens/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canManage, findRole, listMemberships } from '../accounts/memberships.ts';
import { AnonymousFailureAudit } from '../audit/anonymous-failures.ts';
import { auditRow, recordAudit } from '../audit/audit-log.ts';
import { requireUserId, userGone } from '../auth/authenticate.ts';
import type { SessionRow } from '../database/schema.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { viewEvent } from '../events/events.ts';
import { type App, type AppContext, perMinute, requestOrigin } from '../http/context.ts';
import { findUser } from '../users/users.ts';
import {
  createManagedSession,
  createSession,
  describeSession,
  type SessionFailure,
  type SessionRefusal,
  useSession,
  validateSession,
} from './sessions.ts';
import { requireSharedSecret } from './shared-secret.ts';

const SESSION_ERRORS: Record<SessionFailure, { code: ErrorCode; message: string }> = {
  unknown: { code: 'session_unknown', message: 'The session token is not known' },
  expired: { code: 'session_expired', message: 'The session has expired' },
  consumed: {
    code: 'session_consumed',
    message: 'The session token was already used; the session is now revoked',
  },
  revoked: { code: 'session_revoked', message: 'The session has been revoked' },
  not_validated: { code: 'session_not_validated', message: 'Validate the session before using it' },
  verifier_required: {
    code: 'session_verifier_required',
    message: 'The session is bound to the browser that started it: send its code_verifier',
  },
  verifier_mismatch: {
    code: 'session_verifier_mismatch',
    message: 'The code_verifier does not match the session; it was not used',
  },
  event_mismatch: {
    code: 'session_event_mismatch',
    message: 'The session is for another event; it was not used',
  },
};

const SessionHeaders = z.object({
  'x-shared-secret': z.string().optional().describe('The cross-app shared secret'),
  'x-session-token': z.string().optional().describe('The validated cross-app session token'),
});
const SecretHeader = SessionHeaders.pick({ 'x-shared-secret': true });

export function registerCrossAppRoutes(app: App, ctx: AppContext): void {
  const policy = {
    expirySeconds: ctx.config.crossApp.sessionExpirySeconds,
    maxLifetimeSeconds: ctx.config.crossApp.sessionMaxLifetimeSeconds,
  };
  const rateLimit = perMinute(ctx.config.rateLimitsPerMinute.crossApp);
  const anonymousFailures = new AnonymousFailureAudit(ctx.db, ctx.clock);

  /** Records a call's outcome in the audit log and the metrics alike. */
  const audit = (request: FastifyRequest, entry: Omit<Parameters<typeof recordAudit>[2], 'origin'>) => {
    ctx.metrics.crossAppCalls.inc({ call: entry.action, outcome: entry.reason ?? entry.outcome });
    return recordAudit(ctx.db, ctx.clock(), { ...entry, origin: requestOrigin(request) });
  };

  /** Uses the validated session named by `X-Session-Token`, or answers 401 and records why. */
  async function sessionOf(request: FastifyRequest, action: string): Promise<SessionRow> {
    const token = SessionToken.safeParse(request.headers[SESSION_TOKEN_HEADER]);
    const result = token.success
      ? await useSession(ctx.db, token.data, ctx.clock(), policy)
      : ({ ok: false, reason: 'unknown', owner: undefined } as const);
    if (result.ok) return result.session;
    return refuseSession(request, action, result);
  }

  /** Records why a session token was refused, traced to whose session it was, and answers 401. */
  async function refuseSession(
    request: FastifyRequest,
    action: string,
    refusal: SessionRefusal,
  ): Promise<never> {
    await audit(request, {
      action,
      outcome: 'failure',
      actor: 'connector',
      actorUserId: refusal.owner?.userId,
      eventId: refusal.owner?.event_id,
      reason: refusal.reason,
    });
    throw new AppError(SESSION_ERRORS[refusal.reason].code, SESSION_ERRORS[refusal.reason].message);
  }

  /**
   * Why a user's session for an event was not created, found one check at a time: answers 401 when
   * the user no longer exists, else records the refusal and answers 404 for an event they cannot
   * see, 403 for one they may not manage. Answers the event's account when they may manage it
   * after all: a role granted since the statement that did not create the session.
   */
  async function requireManagedEvent(
    request: FastifyRequest,
    action: string,
    userId: number,
    eventId: number,
  ): Promise<number> {
    if (!(await findUser(ctx.db, userId))) throw userGone();
    const viewed = await viewEvent(ctx.db, eventId, userId);
    if (viewed && canManage(viewed.role)) return viewed.event.account_id;
    await audit(request, {
      action,
      outcome: 'failure',
      actor: 'user',
      actorUserId: userId,
      eventId,
      reason: viewed ? 'not_allowed' : 'unknown_event',
    });
    throw viewed
      ? new AppError('forbidden', 'Only an owner or admin of the event’s account can enable ticketing')
      : new AppError('event_not_found', `No event ${eventId}`);
  }

  app.post(
    '/api/cross-app/generate-session',
    {
      config: rateLimit,
      schema: {
        tags: ['cross-app'],
        summary: 'Create a short-lived, single-use session that signs the user in to Hi.Events for one event',
        security: [{ bearer: [] }],
        body: GenerateSessionRequest,
        response: {
          200: GenerateSessionResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const action = 'cross_app.session.generate';
      // Only the token is checked here: the statement that creates the session finds the user.
      const userId = await requireUserId(ctx, request);
      const { eventId, appId, codeChallenge } = request.body;
      const now = ctx.clock();
      const input = {
        userId,
        eventId,
        appId,
        now,
        policy,
        codeChallenge,
        audit: auditRow(now, {
          action,
          outcome: 'success',
          actor: 'user',
          actorUserId: userId,
          eventId,
          origin: requestOrigin(request),
          details: { appId, bound: codeChallenge !== undefined },
        }),
      };
      // One statement when the user may manage the event; else the checks one at a time say why.
      const session =
        (await createManagedSession(ctx.db, input)) ??
        (await createSession(ctx.db, {
          ...input,
          accountId: await requireManagedEvent(request, action, userId, eventId),
        }));
      ctx.metrics.crossAppCalls.inc({ call: action, outcome: 'success' });
      return { session_token: session.token, expires_at: session.expiresAt.toISOString() };
    },
  );

  app.post(
    '/api/cross-app/validate-session',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, anonymousFailures, 'cross_app.session.validate'),
      schema: {
        tags: ['cross-app'],
        summary: 'Validate (and so consume) a session token; a second use revokes the session',
        headers: SecretHeader,
        body: ValidateSessionRequest,
        response: {
          200: ValidateSessionResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request) => {
      const action = 'cross_app.session.validate';
      const { session_token, code_verifier, event_id } = request.body;
      const result = await validateSession(
        ctx.db,
        session_token,
        ctx.clock(),
        policy,
        { action, actor: 'connector', origin: requestOrigin(request) },
        { codeVerifier: code_verifier, eventId: event_id },
      );
      if (!result.ok) return refuseSession(request, action, result);
      // The statement that consumed the session has recorded the outcome in the audit log.
      const { subject } = result;
      ctx.metrics.crossAppCalls.inc({ call: action, outcome: subject ? 'success' : 'no_longer_allowed' });
      if (!subject) throw new AppError('forbidden', 'The user may no longer manage this event’s ticketing');
      const { user, account, event } = subject;
      return {
        user_data: user,
        account_data: account,
        event: {
          id: event.id,
          title: event.title,
          starts_at: event.starts_at.toISOString(),
          ends_at: event.ends_at.toISOString(),
          ticketing_status: event.ticketing_status,
          hi_events_event_id: event.hi_events_event_id,
        },
        expires_at: subject.expiresAt.toISOString(),
      };
    },
  );

  app.post(
    '/api/cross-app/describe-session',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, anonymousFailures, 'cross_app.session.describe'),
      schema: {
        tags: ['cross-app'],
        summary: 'Whom and what a fresh session signs in as, without consuming it',
        headers: SecretHeader,
        body: DescribeSessionRequest,
        response: { 200: DescribeSessionResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const action = 'cross_app.session.describe';
      const result = await describeSession(ctx.db, request.body.session_token, ctx.clock());
      if (!result.ok) return refuseSession(request, action, result);
      const { user, account, event, bound, expiresAt } = result.description;
      ctx.metrics.crossAppCalls.inc({ call: action, outcome: 'success' });
      return {
        user_data: user,
        account_data: account,
        event,
        bound,
        expires_at: expiresAt.toISOString(),
      };
    },
  );

  app.get(
    '/api/cross-app/user-accounts',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, anonymousFailures, 'cross_app.user_accounts'),
      schema: {
        tags: ['cross-app'],
        summary: 'The accounts of the session’s user; slides the session’s expiry',
        headers: SessionHeaders,
        response: { 200: UserAccountsResponse, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const action = 'cross_app.user_accounts';
      const session = await sessionOf(request, action);
      const user = await findUser(ctx.db, session.userId);
      if (!user) throw new AppError('session_unknown', 'The session’s user no longer exists');
      await audit(request, { action, outcome: 'success', actor: 'connector', actorUserId: user.id });
      return { user_data: user, accounts: await listMemberships(ctx.db, user.id) };
    },
  );

  app.post(
    '/api/cross-app/validate-permission',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, anonymousFailures, 'cross_app.permission'),
      schema: {
        tags: ['cross-app'],
        summary: 'Whether the session’s user holds a permission on an event or account now',
        headers: SessionHeaders,
        body: ValidatePermissionRequest,
        response: { 200: ValidatePermissionResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const action = 'cross_app.permission';
      const session = await sessionOf(request, action);
      const { permission, resource } = request.body;
      const { allowed, role } = await checkPermission(ctx, session.userId, permission, resource.id);
      await audit(request, {
        action,
        outcome: allowed ? 'success' : 'failure',
        actor: 'connector',
        actorUserId: session.userId,
        eventId: resource.type === 'event' ? resource.id : null,
        reason: allowed ? undefined : 'not_allowed',
        details: { permission, resource },
      });
      return { allowed, role };
    },
  );
}

async function checkPermission(ctx: AppContext, userId: number, permission: Permission, resourceId: number) {
  if (permission === 'account:manage') {
    const role = await findRole(ctx.db, userId, resourceId);
    return { allowed: canManage(role), role };
  }
  const viewed = await viewEvent(ctx.db, resourceId, userId);
  if (!viewed) return { allowed: false, role: null };
  const allowed = permission === 'event:view' || canManage(viewed.role);
  return { allowed, role: viewed.role };
}
