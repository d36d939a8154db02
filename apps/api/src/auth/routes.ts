import { ChangePasswordRequest, ErrorBody, LoginRequest, LoginResponse, MeResponse } from '@tuvens/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listMemberships } from '../accounts/memberships.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, requestOrigin } from '../http/context.ts';
import { UNKNOWN_USER_HASH, verifyPassword } from '../users/passwords.ts';
import { changePassword, endSignIns, findUserByEmail, toUser } from '../users/users.ts';
import { requireUser, requireViewer } from './authenticate.ts';
import { issueAccessToken } from './jwt.ts';
import { type LimitCheck, LoginLimits } from './login-limits.ts';

export function registerAuthRoutes(app: App, ctx: AppContext): void {
  // Counted in the database, so that every instance shares them (unlike the other routes' limits).
  const limits = new LoginLimits(ctx.db, {
    perAddress: ctx.config.rateLimitsPerMinute.login,
    perAccount: ctx.config.rateLimitsPerMinute.loginPerAccount,
  });

  /** Answers a refusal as a 429 with `Retry-After`; the first of an address in a window is audited. */
  const refuse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    refusal: Extract<LimitCheck, { ok: false }>,
  ): Promise<never> => {
    if (refusal.first) {
      await recordAudit(ctx.db, ctx.clock(), {
        action: 'http.rate_limited',
        outcome: 'failure',
        actor: 'anonymous',
        reason: 'rate_limited',
        origin: requestOrigin(request),
        details: { method: request.method, route: request.routeOptions.url },
      });
    }
    reply.header('retry-after', String(refusal.retryAfterSeconds));
    throw new AppError(
      'rate_limited',
      refusal.limit === 'account'
        ? `Too many failed sign-ins to this account; try again in ${refusal.retryAfterSeconds} s`
        : `Too many attempts from this address; try again in ${refusal.retryAfterSeconds} s`,
    );
  };

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password; answers a short-lived JWT',
        body: LoginRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const limit = await limits.checkSignIn(request.clientAddress || request.ip, email, ctx.clock());
      if (!limit.ok) return refuse(request, reply, limit);
      const row = await findUserByEmail(ctx.db, email);
      const passwordMatches = await verifyPassword(password, row?.password_hash ?? UNKNOWN_USER_HASH);
      const now = ctx.clock();
      if (!row || !passwordMatches) {
        await limits.recordFailedSignIn(email, now);
        await recordAudit(ctx.db, now, {
          action: 'auth.login',
          outcome: 'failure',
          actor: 'anonymous',
          actorUserId: row?.id,
          reason: row ? 'wrong_password' : 'unknown_email',
          origin: requestOrigin(request),
          details: { email },
        });
        throw new AppError('invalid_credentials', 'The email or password is not right');
      }
      await recordAudit(ctx.db, now, {
        action: 'auth.login',
        outcome: 'success',
        actor: 'user',
        actorUserId: row.id,
        origin: requestOrigin(request),
      });
      return { token: await issueAccessToken(ctx.config, row, now), user: toUser(row) };
    },
  );

  app.get(
    '/api/auth/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user and the accounts they belong to',
        security: [{ bearer: [] }],
        response: { 200: MeResponse, 401: ErrorBody },
      },
    },
    async (request) => {
      const user = await requireUser(ctx, request);
      return { user, accounts: await listMemberships(ctx.db, user.id) };
    },
  );

  app.post(
    '/api/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign out: every login token of the user issued until now stops working',
        security: [{ bearer: [] }],
        response: { 204: z.null().describe('Signed out'), 401: ErrorBody },
      },
    },
    async (request, reply) => {
      const viewer = await requireViewer(ctx, request);
      await endSignIns(ctx.db, viewer.user.id);
      await recordAudit(ctx.db, ctx.clock(), {
        action: 'auth.logout',
        outcome: 'success',
        actor: 'user',
        actorUserId: viewer.user.id,
        origin: requestOrigin(request),
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change the password; every other login token of the user stops working',
        security: [{ bearer: [] }],
        body: ChangePasswordRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const limit = await limits.checkPasswordChange(request.clientAddress || request.ip, ctx.clock());
      if (!limit.ok) return refuse(request, reply, limit);
      const viewer = await requireViewer(ctx, request);
      const now = ctx.clock();
      const changed = await changePassword(ctx.db, viewer.user.id, request.body);
      await recordAudit(ctx.db, now, {
        action: 'auth.password_change',
        outcome: changed ? 'success' : 'failure',
        actor: 'user',
        actorUserId: viewer.user.id,
        reason: changed ? undefined : 'wrong_password',
        origin: requestOrigin(request),
      });
      if (!changed) throw new AppError('invalid_credentials', 'The current password is not right');
      // The person who changed it stays signed in, under the new version.
      return { token: await issueAccessToken(ctx.config, changed, now), user: viewer.user };
    },
  );
}
