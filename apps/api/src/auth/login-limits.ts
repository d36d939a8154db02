import type { Kysely, QueryCreator } from 'kysely';
import type { ApiDatabase, RateLimitCountersTable } from '../database/schema.ts';
import { RATE_LIMIT_WINDOW_MS } from '../http/context.ts';

type CounterKind = RateLimitCountersTable['kind'];

/** What a check answers: go on, or the limit that refuses and for how long. */
export type LimitCheck =
  | { ok: true }
  | {
      ok: false;
      limit: 'address' | 'account';
      retryAfterSeconds: number;
      /**
       * Whether this is the first refusal of an address in its window, on any instance: it alone is
       * audited. Refusals of an account are not audited; its failures are, one by one.
       */
      first: boolean;
    };

export interface LoginLimitSettings {
  /** Sign-in attempts a window from one client address (`RATE_LIMIT_LOGIN_PER_MINUTE`). */
  perAddress: number;
  /** Failed sign-ins a window of one account, from anywhere (`RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE`). */
  perAccount: number;
}

/**
 * The sign-in limits, counted in the database so that every instance behind a load balancer shares
 * them: n instances must not give an attacker n times the guesses (docs/architecture.md#rate-limits).
 * A key's window begins at its first hit (after its previous window ended) and lasts a minute; the
 * row keeps when it began, so every instance measures the same window.
 *
 * Per client address every attempt counts; per account only failures count, so that signing in from
 * one place is not refused because a stranger guessed wrong from another, until the stranger has
 * guessed as many times as the limit allows. A check costs one statement; a failure one more.
 */
export class LoginLimits {
  readonly #db: Kysely<ApiDatabase>;
  readonly #settings: LoginLimitSettings;
  /**
   * Counters this instance has seen over their limit, and when their window ends. A count never falls
   * within its window, so until then the refusal is certain and the database need not be asked: a
   * flood from one address costs the database its first few requests a minute, not every one.
   */
  readonly #refusedUntil = new Map<string, number>();

  constructor(db: Kysely<ApiDatabase>, settings: LoginLimitSettings) {
    this.#db = db;
    this.#settings = settings;
  }

  /** Counts a sign-in attempt from `address` and checks both limits, in one statement. */
  async checkSignIn(address: string, email: string, now: Date): Promise<LimitCheck> {
    const known =
      this.#knownRefusal('login_address', address, now) ?? this.#knownRefusal('login_account', email, now);
    if (known) return known;
    const row = await this.#db
      .with('hit', (db) => countHit(db, 'login_address', address, now))
      .selectFrom('hit')
      .leftJoin('rate_limit_counters as account', (join) =>
        join
          .on('account.kind', '=', 'login_account')
          .on('account.key', '=', email)
          .on('account.window_start', '>', windowCutoff(now)),
      )
      .select([
        'hit.hits as attempts',
        'hit.window_start as attemptsSince',
        'account.hits as failures',
        'account.window_start as failuresSince',
      ])
      .executeTakeFirstOrThrow();
    if (row.attempts > this.#settings.perAddress) {
      const first = row.attempts === this.#settings.perAddress + 1;
      return this.#refuse('login_address', address, row.attemptsSince, now, first);
    }
    if (row.failures !== null && row.failuresSince !== null && row.failures >= this.#settings.perAccount) {
      return this.#refuse('login_account', email, row.failuresSince, now, false);
    }
    return { ok: true };
  }

  /** Counts a failed sign-in against the account, whichever address it came from. */
  async recordFailedSignIn(email: string, now: Date): Promise<void> {
    const row = await countHit(this.#db, 'login_account', email, now).executeTakeFirstOrThrow();
    if (row.hits >= this.#settings.perAccount) this.#remember('login_account', email, row.window_start);
  }

  /** Counts a password change attempt from `address`; it is limited as sign-in is, per address. */
  async checkPasswordChange(address: string, now: Date): Promise<LimitCheck> {
    const known = this.#knownRefusal('password_address', address, now);
    if (known) return known;
    const row = await countHit(this.#db, 'password_address', address, now).executeTakeFirstOrThrow();
    if (row.hits <= this.#settings.perAddress) return { ok: true };
    const first = row.hits === this.#settings.perAddress + 1;
    return this.#refuse('password_address', address, row.window_start, now, first);
  }

  #refuse(kind: CounterKind, key: string, windowStart: Date, now: Date, first: boolean): LimitCheck {
    const endsAtMs = this.#remember(kind, key, windowStart);
    return { ok: false, limit: limitOf(kind), retryAfterSeconds: secondsUntil(endsAtMs, now), first };
  }

  #remember(kind: CounterKind, key: string, windowStart: Date): number {
    const endsAtMs = windowStart.getTime() + RATE_LIMIT_WINDOW_MS;
    this.#refusedUntil.delete(`${kind}\n${key}`);
    this.#refusedUntil.set(`${kind}\n${key}`, endsAtMs);
    return endsAtMs;
  }

  #knownRefusal(kind: CounterKind, key: string, now: Date): LimitCheck | undefined {
    this.#forgetEnded(now);
    const endsAtMs = this.#refusedUntil.get(`${kind}\n${key}`);
    if (endsAtMs === undefined || endsAtMs <= now.getTime()) return undefined;
    return { ok: false, limit: limitOf(kind), retryAfterSeconds: secondsUntil(endsAtMs, now), first: false };
  }

  /**
   * Drops ended refusals from the oldest on, stopping at the first still running. Entries are in the
   * order they were set, which is nearly the order they end (windows are equally long); one that ends
   * before an older entry waits for it, and is never believed meanwhile (`#knownRefusal` checks).
   */
  #forgetEnded(now: Date): void {
    for (const [name, endsAtMs] of this.#refusedUntil) {
      if (endsAtMs > now.getTime()) break;
      this.#refusedUntil.delete(name);
    }
  }
}

/**
 * Adds one hit to a counter, or starts its window afresh with this hit if the last one has ended,
 * and answers the count and when the window began. One upsert: concurrent hits, from any instance,
 * queue on the row and each gets a count of its own, so exactly one of them sees the first refusal.
 */
function countHit(db: QueryCreator<ApiDatabase>, kind: CounterKind, key: string, now: Date) {
  return db
    .insertInto('rate_limit_counters')
    .values({ kind, key, window_start: now, hits: 1 })
    .onConflict((conflict) =>
      conflict.columns(['kind', 'key']).doUpdateSet((update) => {
        const ended = update('rate_limit_counters.window_start', '<=', windowCutoff(now));
        return {
          window_start: update
            .case()
            .when(ended)
            .then(update.ref('excluded.window_start'))
            .else(update.ref('rate_limit_counters.window_start'))
            .end(),
          hits: update
            .case()
            .when(ended)
            .then(1)
            .else(update('rate_limit_counters.hits', '+', 1))
            .end(),
        };
      }),
    )
    .returning(['hits', 'window_start']);
}

/** Deletes the counters whose window has ended; answers how many (the cleanup job's). */
export async function deleteEndedCounters(db: Kysely<ApiDatabase>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('rate_limit_counters')
    .where('window_start', '<=', windowCutoff(now))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Windows that began at or before this moment have ended by `now`. */
function windowCutoff(now: Date): Date {
  return new Date(now.getTime() - RATE_LIMIT_WINDOW_MS);
}

function limitOf(kind: CounterKind): 'address' | 'account' {
  return kind === 'login_account' ? 'account' : 'address';
}

/** Whole seconds until a window ends, at least 1 (a `Retry-After` of 0 invites a tight loop). */
function secondsUntil(endsAtMs: number, now: Date): number {
  return Math.max(1, Math.ceil((endsAtMs - now.getTime()) / 1000));
}
