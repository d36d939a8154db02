import type { Kysely } from 'kysely';
import type { ApiDatabase } from '../database/schema.ts';
import { type ChangeQuery, listChanges, numberOf } from '../ticketing/change-log.ts';
import { encodeChange } from './hub.ts';

/** One page of a replay: its SSE messages joined, to be written at once, and where it ended. */
export interface ReplayPage {
  /** How many changes the page holds. */
  readonly count: number;
  /** The number of its last change in the query's numbering; undefined when it is empty. */
  readonly lastId: number | undefined;
  readonly frames: Buffer;
}

/** How long a page read for one stream also serves others that resume the same way. */
const DEFAULT_SHARE_MS = 2_000;
/** Pages held at once; beyond it a replay reads on its own, as it would without sharing. */
const MAX_HELD_PAGES = 100;

interface HeldPage {
  readonly page: Promise<ReplayPage>;
  /** Until when it is handed out; infinite while it is being read. */
  expiresAt: number;
}

/**
 * Replay reads shared by the streams that resume at about the same time from the same point with the
 * same filter. When an instance goes away, its clients come back to another within a few seconds,
 * most with the same `Last-Event-ID`; one read of the change log, and one encoding of its messages,
 * then serves them all instead of one each.
 *
 * Why sharing is exact: a page is determined by its query. Every query carries `upTo`, a position the
 * hub had already reached when the stream subscribed, and the hub reaches a position only once every
 * change up to it has committed or never will (`ChangeHub`). So no change up to `upTo` can appear
 * after a read with that `upTo` has started, and a read started for one stream answers what a read of
 * its own would answer any other with the same query. A page stays shared for `shareMs` after it
 * arrives; an event made private meanwhile may still be replayed within that time to a stream that
 * resumes, as a live message already on its way is.
 */
export class SharedReplay {
  readonly #db: Kysely<ApiDatabase>;
  readonly #shareMs: number;
  readonly #now: () => number;
  readonly #held = new Map<string, HeldPage>();

  constructor(db: Kysely<ApiDatabase>, options: { shareMs?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#shareMs = options.shareMs ?? DEFAULT_SHARE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The changes of `query` (which must set `upTo`), read once for every stream asking the same. */
  read(query: ChangeQuery & { upTo: number }): Promise<ReplayPage> {
    const key = keyOf(query);
    const now = this.#now();
    const held = this.#held.get(key);
    if (held && held.expiresAt > now) return held.page;
    this.#forgetExpired(now);

    const page = listChanges(this.#db, query).then(
      (changes): ReplayPage => ({
        count: changes.length,
        lastId: changes.length > 0 ? numberOf(changes.at(-1)!, query.numbering) : undefined,
        frames: Buffer.concat(changes.map((change) => encodeChange(change, query.numbering))),
      }),
    );
    if (this.#held.size >= MAX_HELD_PAGES) return page;
    const entry: HeldPage = { page, expiresAt: Number.POSITIVE_INFINITY };
    this.#held.set(key, entry);
    page.then(
      () => {
        entry.expiresAt = this.#now() + this.#shareMs;
      },
      () => {
        // A failed read is not handed to anyone else; the next stream reads again.
        if (this.#held.get(key) === entry) this.#held.delete(key);
      },
    );
    return page;
  }

  #forgetExpired(now: number): void {
    for (const [key, held] of this.#held) if (held.expiresAt <= now) this.#held.delete(key);
  }
}

function keyOf(query: ChangeQuery & { upTo: number }): string {
  const accounts = query.accountIds ? [...query.accountIds].sort((a, b) => a - b).join(',') : '*';
  const events = query.eventIds ? [...query.eventIds].sort((a, b) => a - b).join(',') : '*';
  return `${query.numbering}:${query.after}:${query.upTo}:${query.limit}:${events}:${accounts}`;
}
