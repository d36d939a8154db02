import { createHash, randomBytes } from 'node:crypto';
import { AccountRole, type User } from '@tuvens/contracts';
import { compileOnce } from '@tuvens/database';
import { type Insertable, type Kysely, sql } from 'kysely';
import { canManage } from '../accounts/memberships.ts';
import { type AuditEntry, auditRow } from '../audit/audit-log.ts';
import { columnsOf, selectionOf } from '../database/insert-select.ts';
import type {
  ApiDatabase,
  AuditLogTable,
  CrossAppSessionTable,
  EventRow,
  SessionRow,
} from '../database/schema.ts';

/** The roles `canManage` lets manage an account's events, for queries that decide it in SQL. */
const MANAGER_ROLES = AccountRole.options.filter(canManage);

/** How long a session lives: a sliding window, capped by an absolute lifetime. */
export interface SessionPolicy {
  expirySeconds: number;
  maxLifetimeSeconds: number;
}

/** 32 bytes from the CSPRNG, base64url: 256 bits that cannot be guessed. */
export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The PKCE S256 code challenge of a verifier (RFC 7636, 4.2): base64url SHA-256, unpadded. */
export function codeChallengeOf(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Only this hash is stored, so a copy of the database yields no usable token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface NewSession {
  userId: number;
  eventId: number;
  appId: string;
  now: Date;
  policy: SessionPolicy;
  /** Binds the session to the browser holding its verifier; absent for an unbound session. */
  codeChallenge?: string | undefined;
}

/** A fresh token, and the row that stands for it. */
function newSession(input: NewSession, accountId: number) {
  const token = generateSessionToken();
  const expiresAt = windowEnd(input.now, input.policy);
  const row: Insertable<CrossAppSessionTable> = {
    sessionTokenHash: hashSessionToken(token),
    userId: input.userId,
    accountId,
    appId: input.appId,
    event_id: input.eventId,
    expiresAt,
    createdAt: input.now,
    lastUsed: null,
    consumed_at: null,
    revoked_at: null,
    code_challenge: input.codeChallenge ?? null,
  };
  return { token, expiresAt, row };
}

/**
 * Creates a session. With `audit`, its audit row is inserted by the same statement, so the two
 * are atomic without a transaction and cost one round trip to the database instead of four.
 */
export async function createSession(
  db: Kysely<ApiDatabase>,
  input: NewSession & { accountId: number; audit?: Insertable<AuditLogTable> | undefined },
): Promise<{ token: string; expiresAt: Date }> {
  const { token, expiresAt, row } = newSession(input, input.accountId);
  if (input.audit) {
    await db
      .with('session', (cte) => cte.insertInto('crossAppSession').values(row))
      .insertInto('audit_log')
      .values(input.audit)
      .execute();
  } else {
    await db.insertInto('crossAppSession').values(row).execute();
  }
  return { token, expiresAt };
}

/**
 * Creates a session for the event's account, and its audit row, if the user exists and may manage
 * the event (an owner or admin of its account), all in one statement: one round trip instead of
 * finding the user, then the event and the role, then inserting. Answers undefined, having written
 * nothing, when the user may not; the caller then finds out why.
 */
export async function createManagedSession(
  db: Kysely<ApiDatabase>,
  input: NewSession & { audit: Insertable<AuditLogTable> },
): Promise<{ token: string; expiresAt: Date } | undefined> {
  // The account is the event's: the statement selects it in place of this 0.
  const { token, expiresAt, row } = newSession(input, 0);
  const [created] = await insertManagedSession(db, {
    userId: input.userId,
    eventId: input.eventId,
    row,
    audit: input.audit,
  });
  return created && { token, expiresAt };
}

/** The statement of `createManagedSession`: the session and its audit row, if the user may manage the event. */
const insertManagedSession = compileOnce(
  (
    db: Kysely<ApiDatabase>,
    values: {
      userId: number;
      eventId: number;
      row: Insertable<CrossAppSessionTable>;
      audit: Insertable<AuditLogTable>;
    },
  ) =>
    db
      .with('session', (cte) =>
        cte
          .insertInto('crossAppSession')
          .columns(columnsOf(values.row))
          .expression((eb) =>
            eb
              .selectFrom('events')
              .innerJoin('account_members', (join) =>
                join
                  .onRef('account_members.account_id', '=', 'events.account_id')
                  .on('account_members.user_id', '=', values.userId),
              )
              .innerJoin('users', 'users.id', 'account_members.user_id')
              .select((select) => selectionOf(values.row, { accountId: select.ref('events.account_id') }))
              .where('events.id', '=', values.eventId)
              .where('account_members.role', 'in', MANAGER_ROLES),
          )
          .returning('id'),
      )
      .insertInto('audit_log')
      .columns(columnsOf(values.audit))
      .expression((eb) => eb.selectFrom('session').select(selectionOf(values.audit)))
      .returning('id'),
);

export type SessionFailure =
  | 'unknown'
  | 'expired'
  | 'consumed'
  | 'revoked'
  | 'not_validated'
  | 'verifier_required'
  | 'verifier_mismatch'
  | 'event_mismatch';

/**
 * What must hold for a session to be consumed besides being fresh: the PKCE verifier of a bound
 * session (and none for an unbound one), and the event the link named.
 */
export interface SessionBinding {
  codeVerifier?: string | undefined;
  eventId?: number | undefined;
}
/** Whose session a refused token belonged to, when it is known, for the audit log. */
export type SessionOwner = Pick<SessionRow, 'userId' | 'event_id'>;

export type SessionRefusal = { ok: false; reason: SessionFailure; owner: SessionOwner | undefined };
export type SessionResult = { ok: true; session: SessionRow } | SessionRefusal;

/** The end of the sliding window after a use at `now`. */
function windowEnd(now: Date, policy: SessionPolicy): Date {
  return new Date(now.getTime() + policy.expirySeconds * 1000);
}

/** The new expiry after a use: the sliding window's end, never past the absolute lifetime. */
function slidExpiry(windowEnd: Date, maxLifetimeSeconds: number) {
  return sql<Date>`least(${windowEnd}::timestamptz, "createdAt" + ${maxLifetimeSeconds} * interval '1 second')`;
}

/** Who and what a validated session is for, as validate-session answers it. */
export interface SessionSubject {
  user: User;
  account: { id: number; name: string; role: AccountRole };
  event: Pick<EventRow, 'id' | 'title' | 'starts_at' | 'ends_at' | 'ticketing_status' | 'hi_events_event_id'>;
  /** The session's expiry, slid by the validation. */
  expiresAt: Date;
}

/**
 * A validation's outcome: the token consumed, with its subject while the user may still manage the
 * event (undefined once they may not); or the token refused.
 */
export type ValidationResult = { ok: true; subject: SessionSubject | undefined } | SessionRefusal;

/**
 * The statement of `validateSession`: consumes the session if it is fresh and bound as presented,
 * reads its subject and whether its user may still manage the event, and records the audit row.
 */
const consumeSession = compileOnce(
  (
    db: Kysely<ApiDatabase>,
    values: {
      tokenHash: string;
      now: Date;
      windowEnd: Date;
      maxLifetimeSeconds: number;
      challenge: string | null;
      eventId: number | undefined;
      audit: Insertable<AuditLogTable>;
    },
  ) =>
    db
      .with('session', (cte) =>
        cte
          .updateTable('crossAppSession')
          .set({
            consumed_at: values.now,
            lastUsed: values.now,
            expiresAt: slidExpiry(values.windowEnd, values.maxLifetimeSeconds),
            sysModified: values.now,
          })
          .where('sessionTokenHash', '=', values.tokenHash)
          .where('consumed_at', 'is', null)
          .where('revoked_at', 'is', null)
          .where('expiresAt', '>', values.now)
          .where((eb) =>
            values.challenge === null
              ? eb('code_challenge', 'is', null)
              : eb('code_challenge', '=', values.challenge),
          )
          .$if(values.eventId !== undefined, (qb) => qb.where('event_id', '=', values.eventId!))
          .returning(['userId', 'accountId', 'event_id', 'expiresAt']),
      )
      .with('subject', (cte) =>
        cte
          .selectFrom('session')
          .leftJoin('users', 'users.id', 'session.userId')
          .leftJoin('account_members', (join) =>
            join
              .onRef('account_members.user_id', '=', 'session.userId')
              .onRef('account_members.account_id', '=', 'session.accountId'),
          )
          .leftJoin('accounts', 'accounts.id', 'account_members.account_id')
          .leftJoin('events', 'events.id', 'session.event_id')
          .select([
            'session.userId',
            'session.event_id',
            'session.expiresAt',
            'users.email',
            'users.name',
            'accounts.id as account_id',
            'accounts.name as account_name',
            'account_members.role',
            'events.title',
            'events.starts_at',
            'events.ends_at',
            'events.ticketing_status',
            'events.hi_events_event_id',
          ])
          .select((eb) =>
            eb
              .and([
                eb('users.id', 'is not', null),
                eb('events.id', 'is not', null),
                eb('accounts.id', 'is not', null),
                eb('account_members.role', 'in', MANAGER_ROLES),
              ])
              .as('allowed'),
          ),
      )
      .with('audit', (cte) =>
        cte
          .insertInto('audit_log')
          .columns(columnsOf(values.audit))
          .expression((eb) =>
            eb.selectFrom('subject').select((select) => {
              const allowed = select.ref('subject.allowed');
              return selectionOf(values.audit, {
                outcome: select.case().when(allowed).then('success').else('failure').end(),
                reason: select.case().when(allowed).then(null).else('no_longer_allowed').end(),
                actor_user_id: select.ref('subject.userId'),
                event_id: select.ref('subject.event_id'),
              });
            }),
          ),
      )
      .selectFrom('subject')
      .selectAll(),
);

/**
 * Validates a fresh session token exactly once. The single conditional UPDATE is what makes it
 * atomic: of any number of concurrent calls with one token, only one finds `consumed_at` empty.
 * The same statement reads the session's user, their role in its account and its event, and
 * records the validation in the audit log: a success while the user may manage the event, else a
 * failure `no_longer_allowed`, by the session's user, for its event. One round trip, not three.
 *
 * The binding is part of the same condition: a bound session is consumed only with the verifier
 * whose S256 is its challenge, an unbound one only without a verifier, and either only for the
 * event the link named. A token presented with the wrong verifier (it landed in a browser that did
 * not start its sign-in) is therefore refused and left unconsumed, for its own browser to use.
 *
 * A refused token is explained, and its refusal left for the caller to record; presenting a
 * consumed token again revokes the session, since the token has evidently leaked (RFC 9700,
 * section 4.14: reuse of a one-time credential).
 */
export async function validateSession(
  db: Kysely<ApiDatabase>,
  token: string,
  now: Date,
  policy: SessionPolicy,
  audit: Omit<AuditEntry, 'outcome' | 'reason' | 'actorUserId' | 'eventId'>,
  binding: SessionBinding = {},
): Promise<ValidationResult> {
  const tokenHash = hashSessionToken(token);
  const challenge = binding.codeVerifier === undefined ? null : codeChallengeOf(binding.codeVerifier);
  const [row] = await consumeSession(db, {
    tokenHash,
    now,
    windowEnd: windowEnd(now, policy),
    maxLifetimeSeconds: policy.maxLifetimeSeconds,
    challenge,
    eventId: binding.eventId,
    audit: auditRow(now, { ...audit, outcome: 'success' }),
  });
  if (!row) return { ok: false, ...(await refuseToConsume(db, tokenHash, now, binding)) };

  const { email, name, account_id, account_name, role, title, starts_at, ends_at, ticketing_status } = row;
  // `allowed` decided the audit row; when it holds, the left joins all found their row.
  if (
    !row.allowed ||
    email === null ||
    name === null ||
    account_id === null ||
    account_name === null ||
    role === null ||
    title === null ||
    starts_at === null ||
    ends_at === null ||
    ticketing_status === null
  ) {
    return { ok: true, subject: undefined };
  }
  return {
    ok: true,
    subject: {
      user: { id: row.userId, email, name },
      account: { id: account_id, name: account_name, role },
      event: {
        id: row.event_id,
        title,
        starts_at,
        ends_at,
        ticketing_status,
        hi_events_event_id: row.hi_events_event_id,
      },
      expiresAt: row.expiresAt,
    },
  };
}

/** Why a token could not be consumed; a consumed one presented again revokes its session. */
async function refuseToConsume(
  db: Kysely<ApiDatabase>,
  tokenHash: string,
  now: Date,
  binding: SessionBinding,
): Promise<{ reason: SessionFailure; owner: SessionOwner | undefined }> {
  const refusal = await explainRefusal(db, tokenHash, now, binding);
  if (refusal.reason === 'consumed') {
    await db
      .updateTable('crossAppSession')
      .set({ revoked_at: now, sysModified: now })
      .where('sessionTokenHash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .execute();
  }
  return refusal;
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
    .set({
      lastUsed: now,
      expiresAt: slidExpiry(windowEnd(now, policy), policy.maxLifetimeSeconds),
      sysModified: now,
    })
    .where('sessionTokenHash', '=', tokenHash)
    .where('consumed_at', 'is not', null)
    .where('revoked_at', 'is', null)
    .where('expiresAt', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (session) return { ok: true, session };
  return { ok: false, ...(await explainRefusal(db, tokenHash, now)) };
}

/**
 * Why a token was refused. With a binding (validation), a fresh session can only have failed it;
 * without one (a follow-up call), it is one not validated yet.
 */
async function explainRefusal(
  db: Kysely<ApiDatabase>,
  tokenHash: string,
  now: Date,
  binding?: SessionBinding,
): Promise<{ reason: SessionFailure; owner: SessionOwner | undefined }> {
  const row = await db
    .selectFrom('crossAppSession')
    .select(['consumed_at', 'revoked_at', 'expiresAt', 'userId', 'event_id', 'code_challenge'])
    .where('sessionTokenHash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return { reason: 'unknown', owner: undefined };
  const owner = { userId: row.userId, event_id: row.event_id };
  if (row.revoked_at) return { reason: 'revoked', owner };
  if (row.expiresAt <= now) return { reason: 'expired', owner };
  if (row.consumed_at) return { reason: 'consumed', owner };
  if (!binding) return { reason: 'not_validated', owner };
  if (binding.eventId !== undefined && binding.eventId !== row.event_id)
    return { reason: 'event_mismatch', owner };
  if (row.code_challenge !== null && binding.codeVerifier === undefined) {
    return { reason: 'verifier_required', owner };
  }
  return { reason: 'verifier_mismatch', owner };
}

/** Whom and what a fresh session stands for, read without consuming it. */
export interface SessionDescription {
  user: User;
  account: { id: number; name: string };
  event: { id: number; title: string };
  bound: boolean;
  expiresAt: Date;
}

/**
 * Describes a fresh (unconsumed, unrevoked, unexpired) session without touching it, so that a
 * person can be asked before an unbound link signs their browser in. Refusals are explained as a
 * validation would explain them.
 */
export async function describeSession(
  db: Kysely<ApiDatabase>,
  token: string,
  now: Date,
): Promise<{ ok: true; description: SessionDescription } | SessionRefusal> {
  const tokenHash = hashSessionToken(token);
  const row = await db
    .selectFrom('crossAppSession as session')
    .innerJoin('users', 'users.id', 'session.userId')
    .innerJoin('accounts', 'accounts.id', 'session.accountId')
    .innerJoin('events', 'events.id', 'session.event_id')
    .select([
      'session.userId',
      'session.event_id',
      'session.expiresAt',
      'session.code_challenge',
      'users.email',
      'users.name',
      'accounts.id as account_id',
      'accounts.name as account_name',
      'events.title',
    ])
    .where('session.sessionTokenHash', '=', tokenHash)
    .where('session.consumed_at', 'is', null)
    .where('session.revoked_at', 'is', null)
    .where('session.expiresAt', '>', now)
    .executeTakeFirst();
  if (!row) {
    const refusal = await explainRefusal(db, tokenHash, now);
    // A fresh session whose user, account or event is gone is as good as unknown.
    return {
      ok: false,
      ...(refusal.reason === 'not_validated' ? { ...refusal, reason: 'unknown' } : refusal),
    };
  }
  return {
    ok: true,
    description: {
      user: { id: row.userId, email: row.email, name: row.name },
      account: { id: row.account_id, name: row.account_name },
      event: { id: row.event_id, title: row.title },
      bound: row.code_challenge !== null,
      expiresAt: row.expiresAt,
    },
  };
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
