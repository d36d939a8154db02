import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { ApiDatabase, SessionRow } from '../database/schema.ts';

/** How long a session lives: a sliding window, capped by an absolute lifetime. */
export interface SessionPolicy {
  expirySeconds: number;
  maxLifetimeSeconds: number;
}

/** 32 bytes from the CSPRNG, base64url: 256 bits that cannot be guessed. */
export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this hash is stored, so a copy of the database yields no usable token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createSession(
  db: Kysely<ApiDatabase>,
  input: {
    userId: number;
    accountId: number;
    eventId: number;
    appId: string;
    now: Date;
    policy: SessionPolicy;
  },
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateSessionToken();
  const expiresAt = new Date(input.now.getTime() + input.policy.expirySeconds * 1000);
  await db
    .insertInto('crossAppSession')
    .values({
      sessionTokenHash: hashSessionToken(token),
      userId: input.userId,
      accountId: input.accountId,
      appId: input.appId,
      event_id: input.eventId,
      expiresAt,
      createdAt: input.now,
      lastUsed: null,
      consumed_at: null,
      revoked_at: null,
    })
    .execute();
  return { token, expiresAt };
}

export type SessionFailure = 'unknown' | 'expired' | 'consumed' | 'revoked' | 'not_validated';
/** Whose session a refused token belonged to, when it is known, for the audit log. */
export type SessionOwner = Pick<SessionRow, 'userId' | 'event_id'>;

export type SessionResult =
  | { ok: true; session: SessionRow }
  | { ok: false; reason: SessionFailure; owner: SessionOwner | undefined };

/** The new expiry after a use: the sliding window from now, never past the absolute lifetime. */
function slidExpiry(now: Date, policy: SessionPolicy) {
  const window = new Date(now.getTime() + policy.expirySeconds * 1000);
  return sql<Date>`least(${window}::timestamptz, "createdAt" + ${policy.maxLifetimeSeconds} * interval '1 second')`;
}

/**
 * Validates a fresh session token exactly once. The single conditional UPDATE is what makes it
 * atomic: of any number of concurrent calls with one token, only one finds `consumed_at` empty.
 * Presenting a consumed token again revokes the session, since the token has evidently leaked
 * (RFC 9700, section 4.14: reuse of a one-time credential).
 */
export async function consumeSession(
  db: Kysely<ApiDatabase>,
  token: string,
  now: Date,
  policy: SessionPolicy,
): Promise<SessionResult> {
  const tokenHash = hashSessionToken(token);
  const session = await db
    .updateTable('crossAppSession')
    .set({ consumed_at: now, lastUsed: now, expiresAt: slidExpiry(now, policy), sysModified: now })
    .where('sessionTokenHash', '=', tokenHash)
    .where('consumed_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expiresAt', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (session) return { ok: true, session };

  const { reason, owner } = await explainRefusal(db, tokenHash, now);
  if (reason === 'consumed') {
    await db
      .updateTable('crossAppSession')
      .set({ revoked_at: now, sysModified: now })
      .where('sessionTokenHash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .execute();
  }
  return { ok: false, reason, owner };
}

/** Uses an already validated session for a follow-up call, sliding its expiry. */
export async function useSession(
  db: Kysely<ApiDatabase>,
  token: string,
  now: Date,
  policy: SessionPolicy,
): Promise<SessionResult> {
  const tokenHash = hashSessionToken(token);
  const session = await db
    .updateTable('crossAppSession')
    .set({ lastUsed: now, expiresAt: slidExpiry(now, policy), sysModified: now })
    .where('sessionTokenHash', '=', tokenHash)
    .where('consumed_at', 'is not', null)
    .where('revoked_at', 'is', null)
    .where('expiresAt', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (session) return { ok: true, session };
  return { ok: false, ...(await explainRefusal(db, tokenHash, now)) };
}

async function explainRefusal(
  db: Kysely<ApiDatabase>,
  tokenHash: string,
  now: Date,
): Promise<{ reason: SessionFailure; owner: SessionOwner | undefined }> {
  const row = await db
    .selectFrom('crossAppSession')
    .select(['consumed_at', 'revoked_at', 'expiresAt', 'userId', 'event_id'])
    .where('sessionTokenHash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return { reason: 'unknown', owner: undefined };
  const owner = { userId: row.userId, event_id: row.event_id };
  if (row.revoked_at) return { reason: 'revoked', owner };
  if (row.expiresAt <= now) return { reason: 'expired', owner };
  return { reason: row.consumed_at ? 'consumed' : 'not_validated', owner };
}

/** Revokes every live session of a user; answers how many were revoked. */
export async function revokeUserSessions(
  db: Kysely<ApiDatabase>,
  userId: number,
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('crossAppSession')
    .set({ revoked_at: now, sysModified: now })
    .where('userId', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expiresAt', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
