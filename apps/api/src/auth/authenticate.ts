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
  const token = bearerToken(request);
  if (!token) throw new AppError('unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  const check = await verifyAccessToken(ctx.config, token, ctx.clock());
  if (!check.ok) {
    throw new AppError(
      'unauthorized',
      check.reason === 'expired' ? 'The sign-in has expired' : 'The sign-in token is not valid',
    );
  }
  const user = await findUser(ctx.db, check.userId);
  if (!user) throw new AppError('unauthorized', 'The signed-in user no longer exists');
  return user;
}
