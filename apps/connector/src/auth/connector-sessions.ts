import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ConnectorDatabase, ConnectorSessionRow } from '../database/schema.ts';

/**
 * The connector's own sign-in: a random token in an HttpOnly cookie, kept in the database only as its
 * SHA-256, so a copy of the database signs nobody in. In production the cookie takes the `__Host-`
 * prefix, which browsers honour only for a Secure, host-only cookie on path `/`.
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-tuvens_connector_session' : 'tuvens_connector_session';
}

/** 32 bytes from the CSPRNG, base64url. */
export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface NewConnectorSession {
  tuvensUserId: number;
  tuvensAccountId: number;
  tuvensEventId: number;
  hiEventsUserId: number;
  hiEventsAccountId: number;
  /** The Tuvens cross-app session token, sealed, to ask tuvens-api about the person again later. */
  sealedTuvensSessionToken: string | null;
}

export async function createConnectorSession(
  db: Kysely<ConnectorDatabase>,
  input: NewConnectorSession,
  now: Date,
  ttlSeconds: number,
): Promise<{ id: number; token: string; expiresAt: Date }> {
  const token = generateSessionToken();
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  const row = await db
    .insertInto('connector_sessions')
    .values({
      token_hash: hashSessionToken(token),
      tuvens_user_id: input.tuvensUserId,
      tuvens_account_id: input.tuvensAccountId,
      tuvens_event_id: input.tuvensEventId,
      hi_events_user_id: input.hiEventsUserId,
      hi_events_account_id: input.hiEventsAccountId,
      created_at: now,
      expires_at: expiresAt,
      revoked_at: null,
      tuvens_session_token: input.sealedTuvensSessionToken,
      checked_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), token, expiresAt };
}

/** The live session a cookie's token names; the lookup is by hash, so no token is ever compared as text. */
export async function findConnectorSession(
  db: Kysely<ConnectorDatabase>,
  token: string,
  now: Date,
): Promise<ConnectorSessionRow | undefined> {
  return db
    .selectFrom('connector_sessions')
    .selectAll()
    .where('token_hash', '=', hashSessionToken(token))
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function revokeConnectorSession(
  db: Kysely<ConnectorDatabase>,
  id: number,
  now: Date,
): Promise<void> {
  await db.updateTable('connector_sessions').set({ revoked_at: now }).where('id', '=', id).execute();
}

/** Deletes sessions that ended more than a day ago; answers how many. */
export async function pruneConnectorSessions(db: Kysely<ConnectorDatabase>, now: Date): Promise<number> {
  const dayAgo = new Date(now.getTime() - 24 * 60 * 60 * 1000);
  const result = await db
    .deleteFrom('connector_sessions')
    .where('expires_at', '<', dayAgo)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
