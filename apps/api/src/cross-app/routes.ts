import {
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
import { auditRow, recordAudit } from '../audit/audit-log.ts';
import { requireUser } from '../auth/authenticate.ts';
import type { SessionRow } from '../database/schema.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { viewEvent } from '../events/events.ts';
import { type App, type AppContext, perMinute, requestOrigin } from '../http/context.ts';
import { findUser } from '../users/users.ts';
import {
  consumeSession,
  createSession,
  findSessionSubject,
  type SessionFailure,
  type SessionRefusal,
  useSession,
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
      const user = await requireUser(ctx, request);
      const { eventId, appId } = request.body;
      const viewed = await viewEvent(ctx.db, eventId, user.id);
      if (!viewed || !canManage(viewed.role)) {
        const reason = viewed ? 'not_allowed' : 'unknown_event';
        await audit(request, {
          action,
          outcome: 'failure',
          actor: 'user',
          actorUserId: user.id,
          eventId,
          reason,
        });
        throw viewed
          ? new AppError('forbidden', 'Only an owner or admin of the event’s account can enable ticketing')
          : new AppError('event_not_found', `No event ${eventId}`);
      }
      const now = ctx.clock();
      const session = await createSession(ctx.db, {
        userId: user.id,
        accountId: viewed.event.account_id,
        eventId,
        appId,
        now,
        policy,
        audit: auditRow(now, {
          action,
          outcome: 'success',
          actor: 'user',
          actorUserId: user.id,
          eventId,
          origin: requestOrigin(request),
          details: { appId },
        }),
      });
      ctx.metrics.crossAppCalls.inc({ call: action, outcome: 'success' });
      return { session_token: session.token, expires_at: session.expiresAt.toISOString() };
    },
  );

  app.post(
    '/api/cross-app/validate-session',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, 'cross_app.session.validate'),
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
      const result = await consumeSession(ctx.db, request.body.session_token, ctx.clock(), policy);
      if (!result.ok) return refuseSession(request, action, result);
      const session = result.session;
      const subject = await findSessionSubject(ctx.db, session);
      const { user, account, event } = subject ?? {};
      const role = account?.role;
      const entry = {
        action,
        actor: 'connector',
        actorUserId: session.userId,
        eventId: session.event_id,
      } as const;
      if (!user || !event || !account || !role || !canManage(role)) {
        await audit(request, { ...entry, outcome: 'failure', reason: 'no_longer_allowed' });
        throw new AppError('forbidden', 'The user may no longer manage this event’s ticketing');
      }
      await audit(request, { ...entry, outcome: 'success' });
      return {
        user_data: user,
        account_data: { id: account.id, name: account.name, role },
        event: {
          id: event.id,
          title: event.title,
          starts_at: event.starts_at.toISOString(),
          ends_at: event.ends_at.toISOString(),
          ticketing_status: event.ticketing_status,
          hi_events_event_id: event.hi_events_event_id,
        },
        expires_at: session.expiresAt.toISOString(),
      };
    },
  );

  app.get(
    '/api/cross-app/user-accounts',
    {
      config: rateLimit,
      preValidation: requireSharedSecret(ctx, 'cross_app.user_accounts'),
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
      preValidation: requireSharedSecret(ctx, 'cross_app.permission'),
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
