import { RATE_LIMIT_WINDOW_MS } from '../http/context.ts';

/**
 * Failed sign-ins per account, in fixed one-minute windows, in this instance's memory. The per-address
 * limit stops one client guessing fast; this one stops many addresses guessing one account's password.
 * Only failures count, so that signing in from one place is not refused because a stranger guessed
 * wrong from another, until the stranger has guessed as many times as the limit allows.
 */
export class LoginAttempts {
  readonly #maxFailures: number;
  /** When each account's window ends and the failures in it; entries are in the order they expire. */
  readonly #failures = new Map<string, { endsAt: number; count: number }>();

  constructor(maxFailuresPerMinute: number) {
    this.#maxFailures = maxFailuresPerMinute;
  }

  /** Seconds until the account may be tried again, or 0 when it may be tried now. */
  retryAfterSeconds(email: string, now: Date): number {
    this.#forgetExpired(now.getTime());
    const entry = this.#failures.get(email);
    if (!entry || entry.count < this.#maxFailures) return 0;
    return Math.ceil((entry.endsAt - now.getTime()) / 1000);
  }

  recordFailure(email: string, now: Date): void {
    const entry = this.#failures.get(email);
    if (entry && entry.endsAt > now.getTime()) entry.count++;
    else {
      this.#failures.delete(email);
      this.#failures.set(email, { endsAt: now.getTime() + RATE_LIMIT_WINDOW_MS, count: 1 });
    }
  }

  #forgetExpired(nowMs: number): void {
    for (const [email, entry] of this.#failures) {
      if (entry.endsAt > nowMs) break;
      this.#failures.delete(email);
    }
  }
}
