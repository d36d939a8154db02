import type { User } from '@tuvens/contracts';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import type { AppContext } from '../http/context.ts';
import { findUser } from '../users/users.ts';
import { verifyAccessToken } from './jwt.ts';

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : undefined;
}

/** The signed-in user of a request, or undefined when it carries no `Authorization` header. */
export async function optionalUser(ctx: AppContext, request: FastifyRequest): Promise<User | undefined> {
  if (request.headers.authorization === undefined) return undefined;
  return requireUser(ctx, request);
}

/** The signed-in user of a request; a missing, expired or forged token is a 401. */
export async function requireUser(ctx: AppContext, request: FastifyRequest): Promise<User> {
  const user = await findUser(ctx.db, await requireUserId(ctx, request));
  if (!user) throw userGone();
  return user;
}

/**
 * The id in a request's verified login token, without asking the database whether that user still
 * exists: for a route whose own query finds the user, and so spares a round trip. A missing, expired
 * or forged token is a 401, as with `requireUser`.
 */
export async function requireUserId(ctx: AppContext, request: FastifyRequest): Promise<number> {
  const token = bearerToken(request);
  if (!token) throw new AppError('unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  const check = await verifyAccessToken(ctx.config, token, ctx.clock());
  if (!check.ok) {
    throw new AppError(
      'unauthorized',
      check.reason === 'expired' ? 'The sign-in has expired' : 'The sign-in token is not valid',
    );
  }
  return check.userId;
}

/** The 401 of a valid login token whose user has since been deleted. */
export function userGone(): AppError {
  return new AppError('unauthorized', 'The signed-in user no longer exists');
}
