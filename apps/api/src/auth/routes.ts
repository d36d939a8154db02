import { ErrorBody, LoginRequest, LoginResponse, MeResponse } from '@tuvens/contracts';
import { listMemberships } from '../accounts/memberships.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute, requestOrigin } from '../http/context.ts';
import { UNKNOWN_USER_HASH, verifyPassword } from '../users/passwords.ts';
import { findUserByEmail, toUser } from '../users/users.ts';
import { requireUser } from './authenticate.ts';
import { issueAccessToken } from './jwt.ts';
import { LoginAttempts } from './login-attempts.ts';

export function registerAuthRoutes(app: App, ctx: AppContext): void {
  const attempts = new LoginAttempts(ctx.config.rateLimitsPerMinute.loginPerAccount);

  app.post(
    '/api/auth/login',
    {
      config: perMinute(ctx.config.rateLimitsPerMinute.login),
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password; answers a short-lived JWT',
        body: LoginRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const { email, password } = request.body;
      const retryAfter = attempts.retryAfterSeconds(email, ctx.clock());
      if (retryAfter > 0) {
        throw new AppError(
          'rate_limited',
          `Too many failed sign-ins to this account; try again in ${retryAfter} s`,
        );
      }
      const row = await findUserByEmail(ctx.db, email);
      const passwordMatches = await verifyPassword(password, row?.password_hash ?? UNKNOWN_USER_HASH);
      const now = ctx.clock();
      if (!row || !passwordMatches) {
        attempts.recordFailure(email, now);
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
      return { token: await issueAccessToken(ctx.config, row.id, now), user: toUser(row) };
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
}
