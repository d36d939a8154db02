import type { User } from '@tuvens/contracts';
import { compileOnce } from '@tuvens/database';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { ApiDatabase } from '../database/schema.ts';
import { AppError } from '../errors.ts';
import type { AppContext } from '../http/context.ts';
import { toUser } from '../users/users.ts';
import { verifyAccessToken } from './jwt.ts';

/** A request's signed-in user, and what their token says of itself. */
export interface Viewer {
  readonly user: User;
  /** The `token_version` the token was issued under; signing out raises the user's. */
  readonly tokenVersion: number;
  /** When the token stops working; a stream opened with it ends then. */
  readonly expiresAt: Date;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : undefined;
}

/** The signed-in viewer of a request, or undefined when it carries no `Authorization` header. */
export async function optionalViewer(ctx: AppContext, request: FastifyRequest): Promise<Viewer | undefined> {
  if (request.headers.authorization === undefined) return undefined;
  return requireViewer(ctx, request);
}

/** The signed-in user of a request, or undefined when it carries no `Authorization` header. */
export async function optionalUser(ctx: AppContext, request: FastifyRequest): Promise<User | undefined> {
  return (await optionalViewer(ctx, request))?.user;
}

/** The signed-in user of a request; a missing, expired, revoked or forged token is a 401. */
export async function requireUser(ctx: AppContext, request: FastifyRequest): Promise<User> {
  return (await requireViewer(ctx, request)).user;
}

/** The id of a request's signed-in user; a missing, expired, revoked or forged token is a 401. */
export async function requireUserId(ctx: AppContext, request: FastifyRequest): Promise<number> {
  return (await requireViewer(ctx, request)).user.id;
}

/**
 * The signed-in viewer of a request. The token must be ours and unexpired, and issued under the
 * user's current `token_version`: signing out and changing the password raise it, which ends every
 * token issued before, here and in every instance, with the one read that finds the user anyway.
 */
export async function requireViewer(ctx: AppContext, request: FastifyRequest): Promise<Viewer> {
  const token = bearerToken(request);
  if (!token) throw new AppError('unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  const check = await verifyAccessToken(ctx.config, token, ctx.clock());
  if (!check.ok) {
    throw new AppError(
      'unauthorized',
      check.reason === 'expired' ? 'The sign-in has expired' : 'The sign-in token is not valid',
    );
  }
  const row = await findSignedInUser(ctx.db, check.userId);
  if (!row) throw userGone();
  if (row.token_version !== check.tokenVersion) {
    throw new AppError('unauthorized', 'This sign-in has ended; sign in again');
  }
  return { user: toUser(row), tokenVersion: check.tokenVersion, expiresAt: check.expiresAt };
}

const signedInUser = compileOnce((db: Kysely<ApiDatabase>, values: { userId: number }) =>
  db.selectFrom('users').select(['id', 'email', 'name', 'token_version']).where('id', '=', values.userId),
);

/** The user a valid token names, with the `token_version` it must have been issued under. */
export async function findSignedInUser(db: Kysely<ApiDatabase>, userId: number) {
  const [user] = await signedInUser(db, { userId });
  return user;
}

/** The 401 of a valid login token whose user has since been deleted. */
export function userGone(): AppError {
  return new AppError('unauthorized', 'The signed-in user no longer exists');
}
