import { createHash, randomBytes } from 'node:crypto';
import type { AccountRole, User } from '@tuvens/contracts';
import { type Insertable, type Kysely, sql } from 'kysely';
import type {
  ApiDatabase,
  AuditLogTable,
  CrossAppSessionTable,
  EventRow,
  SessionRow,
} from '../database/schema.ts';
import { toUser } from '../users/users.ts';

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

/**
 * Creates a session. With `audit`, its audit row is inserted by the same statement, so the two
 * are atomic without a transaction and cost one round trip to the database instead of four.
 */
export async function createSession(
  db: Kysely<ApiDatabase>,
  input: {
    userId: number;
    accountId: number;
    eventId: number;
    appId: string;
    now: Date;
    policy: SessionPolicy;
    audit?: Insertable<AuditLogTable> | undefined;
  },
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateSessionToken();
  const expiresAt = new Date(input.now.getTime() + input.policy.expirySeconds * 1000);
  const session: Insertable<CrossAppSessionTable> = {
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
  };
  if (input.audit) {
    await db
      .with('session', (cte) => cte.insertInto('crossAppSession').values(session))
      .insertInto('audit_log')
      .values(input.audit)
      .execute();
  } else {
    await db.insertInto('crossAppSession').values(session).execute();
  }
  return { token, expiresAt };
}

/** Who and what a validated session is for, as validate-session answers it. */
export interface SessionSubject {
  user: User;
  /** The session's account, when the user is still a member of it. */
  account: { id: number; name: string; role: AccountRole } | undefined;
  event:
    | Pick<EventRow, 'id' | 'title' | 'starts_at' | 'ends_at' | 'ticketing_status' | 'hi_events_event_id'>
    | undefined;
}

/**
 * The session's user, their membership of the session's account and the session's event, in
 * one query; undefined when the user no longer exists.
 */
export async function findSessionSubject(
  db: Kysely<ApiDatabase>,
  session: Pick<SessionRow, 'userId' | 'accountId' | 'event_id'>,
): Promise<SessionSubject | undefined> {
  const row = await db
    .selectFrom('users')
    .leftJoin('account_members', (join) =>
      join
        .onRef('account_members.user_id', '=', 'users.id')
        .on('account_members.account_id', '=', session.accountId),
    )
    .leftJoin('accounts', 'accounts.id', 'account_members.account_id')
    .leftJoin('events', (join) => join.on('events.id', '=', session.event_id))
    .select([
      'users.id',
      'users.email',
      'users.name',
      'accounts.id as account_id',
      'accounts.name as account_name',
      'account_members.role',
      'events.id as event_id',
      'events.title',
      'events.starts_at',
      'events.ends_at',
      'events.ticketing_status',
      'events.hi_events_event_id',
    ])
    .where('users.id', '=', session.userId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    user: toUser(row),
    account:
      row.account_id !== null && row.account_name !== null && row.role !== null
        ? { id: row.account_id, name: row.account_name, role: row.role }
        : undefined,
    event:
      row.event_id !== null && row.title !== null && row.starts_at && row.ends_at && row.ticketing_status
        ? {
            id: row.event_id,
            title: row.title,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            ticketing_status: row.ticketing_status,
            hi_events_event_id: row.hi_events_event_id,
          }
        : undefined,
  };
}

export type SessionFailure = 'unknown' | 'expired' | 'consumed' | 'revoked' | 'not_validated';
/** Whose session a refused token belonged to, when it is known, for the audit log. */
export type SessionOwner = Pick<SessionRow, 'userId' | 'event_id'>;

export type SessionRefusal = { ok: false; reason: SessionFailure; owner: SessionOwner | undefined };
export type SessionResult = { ok: true; session: SessionRow } | SessionRefusal;

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
