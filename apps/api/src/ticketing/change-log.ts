import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeCursor, ChangeNumbering, TicketingStatusChanged } from '@tuvens/contracts';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { ApiDatabase, TicketingChangeRow, TicketingStatusChangesTable } from '../database/schema.ts';

/** The NOTIFY channel on which every appended change announces its id. */
export const CHANGE_CHANNEL = 'ticketing_status_changes';

/** A change to append; the log gives it its id, and its public number when its event is public. */
export type NewChange = Omit<TicketingStatusChangesTable, 'id' | 'public_seq'>;

/** A change with what decides who may see it. */
export interface PublishedChange extends TicketingChangeRow {
  account_id: number;
  visibility: 'public' | 'private';
}

/**
 * Appends a change; call it in the applying transaction, then announce the change once that has
 * committed. Concurrent transactions may commit their ids out of order; readers hold a later id back
 * until the earlier ones are settled (see `readNewChanges`).
 */
export async function appendChange(trx: Kysely<ApiDatabase>, change: NewChange): Promise<TicketingChangeRow> {
  return trx.insertInto('ticketing_status_changes').values(change).returningAll().executeTakeFirstOrThrow();
}

/**
 * Tells every instance, by NOTIFY, that changes up to an id have committed. It notifies after the
 * commit rather than inside the transaction: PostgreSQL serialises the commits of transactions that
 * notify, which would cap the rate at which status changes are applied. The first announcement goes
 * out at once; those made while one is on its way, or in the short pause after it, are folded into
 * one more naming the greatest id, so that under load every instance reads the log in batches rather
 * than once per change. Should one be lost (the process ends first, the database is away), each
 * instance's hub still finds the change when it next polls.
 */
/** The pause between two announcements while changes keep coming: at most a few ms of added latency. */
const ANNOUNCE_PAUSE_MS = 5;

export class ChangeAnnouncer {
  readonly #db: Kysely<ApiDatabase>;
  readonly #onError: (error: unknown) => void;
  #greatest = 0;
  #announced = 0;
  #sending: Promise<void> | undefined;

  constructor(db: Kysely<ApiDatabase>, onError: (error: unknown) => void) {
    this.#db = db;
    this.#onError = onError;
  }

  announce(changeId: number): void {
    // A greater id already announced, or on its way, covers this one: readers take every id up to it.
    if (changeId <= this.#greatest) return;
    this.#greatest = changeId;
    this.#sending ??= this.#send();
  }

  /** Resolves once every announcement made so far has been sent (or has failed). */
  async settled(): Promise<void> {
    await this.#sending;
  }

  async #send(): Promise<void> {
    try {
      while (this.#announced < this.#greatest) {
        const id = this.#greatest;
        await sql`select pg_notify(${CHANGE_CHANNEL}, ${String(id)})`.execute(this.#db).catch(this.#onError);
        this.#announced = id;
        if (this.#announced < this.#greatest) await sleep(ANNOUNCE_PAUSE_MS);
      }
    } finally {
      this.#sending = undefined;
    }
  }
}

/**
 * The numbering a viewer's streams and cursors use (docs/contract.md#sse): the public one when they
 * see no private event, so that their ids count only changes they may see; the change log's for
 * members of an account, whose streams carry its private events.
 */
export function numberingFor(accountIds: readonly number[] | ReadonlySet<number>): ChangeNumbering {
  return ('size' in accountIds ? accountIds.size : accountIds.length) === 0 ? 'public' : 'log';
}

/** A change's number in `numbering`: its public number there, which only public events' changes have. */
export function numberOf(change: PublishedChange, numbering: ChangeNumbering): number {
  return numbering === 'public' ? change.public_seq! : change.id;
}

const NUMBER_COLUMN = { log: 'change.id', public: 'change.public_seq' } as const;

/** Which changes `listChanges` answers; every bound is a number in `numbering`. */
export interface ChangeQuery {
  numbering: ChangeNumbering;
  /** Only changes with a greater number. */
  after: number;
  /** Only changes with this number or a smaller one. */
  upTo?: number | undefined;
  /** Only changes of these events; all events when absent. */
  eventIds?: readonly number[] | null | undefined;
  /** Only public events and the private events of these accounts; every event when absent. */
  accountIds?: readonly number[] | undefined;
  limit: number;
}

/** Changes in the order of their numbers, with the visibility of their events. */
export async function listChanges(db: Kysely<ApiDatabase>, query: ChangeQuery): Promise<PublishedChange[]> {
  return selectChanges(db, query).execute();
}

/**
 * The changes numbered after `after`, with the snapshot they were read in. When a number is missing
 * below one that is there, its transaction was still running at that snapshot or rolled back;
 * `haveFinished` tells when every transaction running then is done, after which a missing number
 * will never appear.
 */
export async function readNewChanges(
  db: Kysely<ApiDatabase>,
  numbering: ChangeNumbering,
  after: number,
  limit: number,
): Promise<{ changes: PublishedChange[]; snapshot: string | undefined }> {
  const rows = await selectChanges(db, { numbering, after, limit })
    .select(sql<string>`pg_current_snapshot()::text`.as('snapshot'))
    .execute();
  return { changes: rows.map(({ snapshot: _, ...change }) => change), snapshot: rows[0]?.snapshot };
}

/** Whether every transaction that was running at a snapshot has committed or rolled back. */
export async function haveFinished(db: Kysely<ApiDatabase>, snapshot: string): Promise<boolean> {
  const { rows } = await sql<{ finished: boolean }>`
    select not exists (
      select 1 from pg_snapshot_xip(${snapshot}::pg_snapshot) as running(xid)
      where pg_xact_status(running.xid) = 'in progress'
    ) as finished
  `.execute(db);
  return rows[0]?.finished ?? false;
}

function selectChanges(db: Kysely<ApiDatabase>, query: ChangeQuery) {
  const number = NUMBER_COLUMN[query.numbering];
  let select = db
    .selectFrom('ticketing_status_changes as change')
    .innerJoin('events', 'events.id', 'change.event_id')
    .selectAll('change')
    .select(['events.account_id', 'events.visibility'])
    .where(number, '>', query.after)
    .orderBy(number)
    .limit(query.limit);
  if (query.upTo !== undefined) select = select.where(number, '<=', query.upTo);
  if (query.eventIds) select = select.where('change.event_id', 'in', query.eventIds);
  const accountIds = query.accountIds;
  if (accountIds) {
    select = select.where((where) =>
      accountIds.length === 0
        ? where('events.visibility', '=', 'public')
        : where.or([where('events.visibility', '=', 'public'), where('events.account_id', 'in', accountIds)]),
    );
  }
  return select;
}

/** The greatest number given in `numbering`, or 0 when there is none. */
export async function latestChangeId(db: Kysely<ApiDatabase>, numbering: ChangeNumbering): Promise<number> {
  const column = numbering === 'public' ? 'public_seq' : 'id';
  const { newest } = await db
    .selectFrom('ticketing_status_changes')
    .select((eb) => eb.fn.coalesce(eb.fn.max(column), eb.lit(0)).as('newest'))
    .executeTakeFirstOrThrow();
  return Number(newest);
}

/**
 * The number of the newest change a viewer may see (0 when there is none): of a public event, or of
 * a private event of one of `accountIds`; up to `upTo` when given. It is the cursor a viewer is
 * given, instead of the newest change of all, which would count changes they cannot see.
 */
export async function latestVisibleChangeId(
  db: Kysely<ApiDatabase>,
  viewer: { numbering: ChangeNumbering; accountIds: readonly number[]; upTo?: number },
): Promise<number> {
  const number = NUMBER_COLUMN[viewer.numbering];
  let query = db
    .selectFrom('ticketing_status_changes as change')
    .innerJoin('events', 'events.id', 'change.event_id')
    .select(`${number} as number`)
    .where(number, 'is not', null)
    .orderBy(number, 'desc')
    .limit(1);
  if (viewer.upTo !== undefined) query = query.where(number, '<=', viewer.upTo);
  const { accountIds } = viewer;
  query = query.where((where) =>
    accountIds.length === 0
      ? where('events.visibility', '=', 'public')
      : where.or([where('events.visibility', '=', 'public'), where('events.account_id', 'in', accountIds)]),
  );
  const row = await query.executeTakeFirst();
  return row ? Number(row.number) : 0;
}

/** The cursor of the newest change a user (or anyone not signed in) may see, in their numbering. */
export async function changesSeenBy(
  db: Kysely<ApiDatabase>,
  userId: number | undefined,
): Promise<ChangeCursor> {
  const memberships =
    userId === undefined
      ? []
      : await db.selectFrom('account_members').select('account_id').where('user_id', '=', userId).execute();
  const accountIds = memberships.map((membership) => membership.account_id);
  const numbering = numberingFor(accountIds);
  return { numbering, id: await latestVisibleChangeId(db, { numbering, accountIds }) };
}

/**
 * The number in `numbering` after which lies every change that a client at `cursor`, a cursor of the
 * other numbering (the viewer signed in, or joined or left an account), has not been given: the
 * number of the last change it had (the greatest by its own numbering up to `cursor`), or less, should
 * a change it did not have come earlier by `numbering` (concurrent transactions may draw their two
 * numbers in different orders). Nothing is lost; a change may be given again.
 */
export async function translateCursor(
  db: Kysely<ApiDatabase>,
  cursor: ChangeCursor,
  numbering: ChangeNumbering,
): Promise<number> {
  if (cursor.numbering === numbering) return cursor.id;
  const [from, to] = (numbering === 'public' ? ['id', 'public_seq'] : ['public_seq', 'id']).map((column) =>
    sql.ref(column),
  ) as [RawBuilder<number>, RawBuilder<number>];
  // least() passes over a null: an end of the log on either side.
  const { rows } = await sql<{ after: number | string }>`
    select coalesce(least(
      (select ${to} from ticketing_status_changes
        where ${from} <= ${cursor.id} and ${to} is not null order by ${from} desc limit 1),
      (select min(${to}) - 1 from ticketing_status_changes where ${from} > ${cursor.id} and ${to} is not null)
    ), 0) as after
  `.execute(db);
  return Number(rows[0]!.after);
}

/**
 * The greatest number in `numbering` (0 when there is none) and the snapshot in which it was the
 * greatest.
 */
export async function newestChange(
  db: Kysely<ApiDatabase>,
  numbering: ChangeNumbering,
): Promise<{ id: number; snapshot: string }> {
  const column = sql.ref(numbering === 'public' ? 'public_seq' : 'id');
  const { rows } = await sql<{ id: number | string; snapshot: string }>`
    select coalesce(max(${column}), 0) as id, pg_current_snapshot()::text as snapshot from ticketing_status_changes
  `.execute(db);
  return { id: Number(rows[0]!.id), snapshot: rows[0]!.snapshot };
}

/** The SSE message of a change (docs/contract.md#sse-messages). */
export function toStatusMessage(change: TicketingChangeRow): TicketingStatusChanged {
  return {
    type: 'ticketing_status_changed',
    eventId: change.event_id,
    status: change.to_status,
    hiEventsEventUrl: change.hi_events_event_url,
    timestamp: change.occurred_at.toISOString(),
  };
}
