import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { type ChangeNumbering, formatChangeCursor } from '@tuvens/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiDb } from '../database/database.ts';
import {
  CHANGE_CHANNEL,
  haveFinished,
  newestChange,
  numberOf,
  type PublishedChange,
  readNewChanges,
  toStatusMessage,
} from '../ticketing/change-log.ts';
import { toTicketSummaryMessage } from '../tickets/apply-ticket-summary.ts';

/** One change as every client receives it. */
export interface ChangeMessage {
  /** Its number in the hub's numbering. */
  readonly id: number;
  readonly eventId: number;
  readonly accountId: number;
  readonly isPublic: boolean;
  /** Changes read from the log together share a batch number. */
  readonly batch: number;
  /** The whole SSE message, encoded once and written as it is to every client that may see it. */
  readonly frame: Buffer;
}

/** Someone who wants the changes of some events (or of all). */
export interface ChangeSubscriber {
  /** Only these events' changes; every event's when null. */
  readonly eventIds: readonly number[] | null;
  deliver(message: ChangeMessage): void;
}

export interface ChangeHubOptions {
  log: FastifyBaseLogger;
  /** Which numbering it reads the log in, and gives its messages' ids in: the public one has only public events' changes. */
  numbering: ChangeNumbering;
  /** How often the change log is read even without a notification, to cover ones lost while LISTEN reconnects. */
  pollIntervalMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 2_000;
const READ_BATCH = 100;
/** How long a missing id is waited for before asking whether its transaction is still running. */
const GAP_CHECK_MS = 50;
const GAP_CHECK_MAX_MS = 1_000;
const STARTUP_SETTLE_MAX_MS = 5_000;

/**
 * The change log's fan-out in one instance, in one numbering (an instance runs one hub per
 * numbering): one LISTEN, and one read of the change log per notification however many clients
 * there are, each change encoded once and handed to the subscribers of its event. Changes reach
 * subscribers in the order of their numbers, each once, and never after a greater number: a change
 * whose smaller neighbour is still being committed waits for it, so that a client resuming after any
 * id it was given misses nothing. The two numberings are kept apart because concurrent transactions
 * may draw their two numbers in different orders: each hub orders by its own.
 */
export class ChangeHub {
  readonly #database: ApiDb;
  readonly #log: FastifyBaseLogger;
  readonly #numbering: ChangeNumbering;
  readonly #everything = new Set<ChangeSubscriber>();
  readonly #byEvent = new Map<number, Set<ChangeSubscriber>>();
  #position = 0;
  /** Every id up to this one is in the log or never will be, so a missing one is skipped. */
  #settledThrough = 0;
  #gapCheck: NodeJS.Timeout | undefined;
  #batch = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #started = false;
  #stopped = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  private constructor(database: ApiDb, log: FastifyBaseLogger, numbering: ChangeNumbering) {
    this.#database = database;
    this.#log = log;
    this.#numbering = numbering;
  }

  /** Listens for changes from every instance, starting after the newest change there is now. */
  static async start(database: ApiDb, options: ChangeHubOptions): Promise<ChangeHub> {
    const hub = new ChangeHub(database, options.log, options.numbering);
    // Listening before reading the newest id leaves no moment in which a change could slip past.
    hub.#unlisten = await database.listen(CHANGE_CHANNEL, (payload) => hub.#notified(payload));
    hub.#position = await hub.#settledNewestId();
    hub.#started = true;
    hub.#pollTimer = setInterval(() => hub.#read(), options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    hub.#pollTimer.unref();
    hub.#read();
    return hub;
  }

  /** The id of the last change handed to subscribers. */
  get position(): number {
    return this.#position;
  }

  /** Adds a subscriber; answers the position after which it will receive every change. */
  subscribe(subscriber: ChangeSubscriber): number {
    if (!subscriber.eventIds) {
      this.#everything.add(subscriber);
    } else {
      for (const eventId of subscriber.eventIds) {
        const subscribers = this.#byEvent.get(eventId);
        if (subscribers) subscribers.add(subscriber);
        else this.#byEvent.set(eventId, new Set([subscriber]));
      }
    }
    return this.#position;
  }

  unsubscribe(subscriber: ChangeSubscriber): void {
    if (!subscriber.eventIds) {
      this.#everything.delete(subscriber);
      return;
    }
    for (const eventId of subscriber.eventIds) {
      const subscribers = this.#byEvent.get(eventId);
      subscribers?.delete(subscriber);
      if (subscribers?.size === 0) this.#byEvent.delete(eventId);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#gapCheck);
    await this.#unlisten?.();
    await this.#reading;
  }

  /**
   * The newest id, once the transactions that could still add a smaller one have finished (or a few
   * seconds have passed), so that no change committed just now is left behind the starting point.
   */
  async #settledNewestId(): Promise<number> {
    const { id, snapshot } = await newestChange(this.#database.db, this.#numbering);
    for (let waitedMs = 0; waitedMs < STARTUP_SETTLE_MAX_MS; waitedMs += GAP_CHECK_MS) {
      if (await haveFinished(this.#database.db, snapshot)) break;
      await sleep(GAP_CHECK_MS);
    }
    return id;
  }

  #notified(payload: string): void {
    // Notifications name change-log ids, which say nothing of where the public numbering stands.
    const id = Number(payload);
    if (this.#numbering === 'log' && Number.isInteger(id) && id <= this.#position) return;
    this.#read();
  }

  /** Reads what is new in the change log; a read asked for while one runs happens once, after it. */
  #read(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#readUntilCurrent()
      .catch((error: unknown) => this.#log.error({ err: error }, 'reading the ticketing change log failed'))
      .finally(() => {
        this.#reading = undefined;
      });
  }

  async #readUntilCurrent(): Promise<void> {
    for (;;) {
      this.#readAgain = false;
      const { changes, snapshot } = await readNewChanges(
        this.#database.db,
        this.#numbering,
        this.#position,
        READ_BATCH,
      );
      this.#batch++;
      const last = changes.at(-1) && numberOf(changes.at(-1)!, this.#numbering);
      for (const change of changes) {
        const number = numberOf(change, this.#numbering);
        if (number !== this.#position + 1 && number > this.#settledThrough) {
          this.#awaitGap(snapshot!, last!, GAP_CHECK_MS);
          break;
        }
        this.#publish(change, number);
      }
      if (this.#position === last && changes.length === READ_BATCH) this.#readAgain = true;
      if (!this.#readAgain || this.#stopped) return;
      // Let sockets take what was just written before the next batch is judged against their backlog.
      await nextTurn();
    }
  }

  /**
   * A smaller id is missing below `upTo`: its transaction is still committing (its notification
   * will come) or rolled back. Once every transaction running at `snapshot` has finished, the ids
   * up to `upTo` are settled and a still missing one is skipped.
   */
  #awaitGap(snapshot: string, upTo: number, delayMs: number): void {
    if (this.#gapCheck || this.#stopped) return;
    this.#gapCheck = setTimeout(async () => {
      try {
        if (this.#position < upTo && !(await haveFinished(this.#database.db, snapshot))) {
          this.#gapCheck = undefined;
          this.#awaitGap(snapshot, upTo, Math.min(delayMs * 2, GAP_CHECK_MAX_MS));
          return;
        }
        this.#settledThrough = Math.max(this.#settledThrough, upTo);
      } catch (error) {
        this.#log.error({ err: error }, 'checking a gap in the ticketing change log failed');
      }
      this.#gapCheck = undefined;
      this.#read();
    }, delayMs);
    this.#gapCheck.unref();
  }

  #publish(change: PublishedChange, number: number): void {
    this.#position = number;
    const message: ChangeMessage = {
      id: number,
      eventId: change.event_id,
      accountId: change.account_id,
      isPublic: change.visibility === 'public',
      batch: this.#batch,
      frame: encodeChange(change, this.#numbering),
    };
    for (const subscriber of this.#everything) subscriber.deliver(message);
    for (const subscriber of this.#byEvent.get(change.event_id) ?? []) subscriber.deliver(message);
  }
}

/** The SSE message of a change: no `event:` field, so `onmessage` fires; its `id:` is its number in `numbering`. */
export function encodeChange(change: PublishedChange, numbering: ChangeNumbering): Buffer {
  const { ticket_summary: summary } = change;
  const message = summary
    ? toTicketSummaryMessage({ ...change, ticket_summary: summary })
    : toStatusMessage(change);
  const id = formatChangeCursor({ numbering, id: numberOf(change, numbering) });
  return Buffer.from(`id: ${id}\ndata: ${JSON.stringify(message)}\n\n`);
}
