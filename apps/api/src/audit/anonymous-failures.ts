import type { Clock } from '@tuvens/server';
import type { Kysely } from 'kysely';
import type { ApiDatabase } from '../database/schema.ts';
import { RATE_LIMIT_WINDOW_MS } from '../http/context.ts';
import { type AuditEntry, recordAudit } from './audit-log.ts';

/**
 * The audit log of failures by callers who proved nothing (a bad signature, no secret): the first of
 * each kind from each address in each minute is written, the rest only counted in the metrics, as
 * rate-limited requests are. A stranger sending a thousand bad requests leaves a trace, not a
 * thousand rows.
 */
export class AnonymousFailureAudit {
  readonly #db: Kysely<ApiDatabase>;
  readonly #clock: Clock;
  /** When the current window of each action, reason and address ends, for those already written in it. */
  readonly #written = new Map<string, number>();

  constructor(db: Kysely<ApiDatabase>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Writes the entry unless one like it from the same address was written in this window; answers whether it did. */
  async record(entry: AuditEntry): Promise<boolean> {
    const now = this.#clock();
    const key = `${entry.action} ${entry.reason ?? ''} ${entry.origin?.ip ?? ''}`;
    if ((this.#written.get(key) ?? 0) > now.getTime()) return false;
    // Every window is as long, so the entries are in the order they expire.
    for (const [written, endsAt] of this.#written) {
      if (endsAt > now.getTime()) break;
      this.#written.delete(written);
    }
    this.#written.delete(key);
    this.#written.set(key, now.getTime() + RATE_LIMIT_WINDOW_MS);
    await recordAudit(this.#db, now, {
      ...entry,
      details: { ...entry.details, first_in_window_s: RATE_LIMIT_WINDOW_MS / 1000 },
    });
    return true;
  }
}
