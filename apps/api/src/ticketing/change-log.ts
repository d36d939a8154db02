import type { TicketingStatusChanged } from '@tuvens/contracts';
import { type Kysely, sql } from 'kysely';
import type { ApiDatabase, TicketingChangeRow, TicketingStatusChangesTable } from '../database/schema.ts';

/** The NOTIFY channel on which every appended change announces its id. */
export const CHANGE_CHANNEL = 'ticketing_status_changes';

/** A change to append; the log gives it its id. */
export type NewChange = Omit<TicketingStatusChangesTable, 'id'>;

/** A change with what decides who may see it. */
export interface PublishedChange extends TicketingChangeRow {
  account_id: number;
  visibility: 'public' | 'private';
}

/**
 * Appends a change and notifies every instance of its id on commit; call it last in the applying
 * transaction. Concurrent transactions may commit their ids out of order; readers hold a later id
 * back until the earlier ones are settled (see `readNewChanges`).
 */
export async function appendChange(trx: Kysely<ApiDatabase>, change: NewChange): Promise<TicketingChangeRow> {
  const { notified: _, ...appended } = await trx
    .with('appended', (db) => db.insertInto('ticketing_status_changes').values(change).returningAll())
    .selectFrom('appended')
    .selectAll()
    .select(sql<string>`pg_notify(${CHANGE_CHANNEL}, appended.id::text)::text`.as('notified'))
    .executeTakeFirstOrThrow();
  return appended;
}

/** Which changes `listChanges` answers. */
export interface ChangeQuery {
  /** Only changes with a greater id. */
  after: number;
  /** Only changes with this id or a smaller one. */
  upTo?: number | undefined;
  /** Only changes of these events; all events when absent. */
  eventIds?: readonly number[] | null | undefined;
  /** Only public events and the private events of these accounts; every event when absent. */
  accountIds?: readonly number[] | undefined;
  limit: number;
}

/** Changes in id order, with the visibility of their events. */
export async function listChanges(db: Kysely<ApiDatabase>, query: ChangeQuery): Promise<PublishedChange[]> {
  return selectChanges(db, query).execute();
}

/**
 * The changes after an id, with the snapshot they were read in. When an id is missing below one that
 * is there, its transaction was still running at that snapshot or rolled back; `haveFinished` tells
 * when every transaction running then is done, after which a missing id will never appear.
 */
export async function readNewChanges(
  db: Kysely<ApiDatabase>,
  after: number,
  limit: number,
): Promise<{ changes: PublishedChange[]; snapshot: string | undefined }> {
  const rows = await selectChanges(db, { after, limit })
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
  let select = db
    .selectFrom('ticketing_status_changes as change')
    .innerJoin('events', 'events.id', 'change.event_id')
    .selectAll('change')
    .select(['events.account_id', 'events.visibility'])
    .where('change.id', '>', query.after)
    .orderBy('change.id')
    .limit(query.limit);
  if (query.upTo !== undefined) select = select.where('change.id', '<=', query.upTo);
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

/** The id of the newest change, or 0 when there is none. */
export async function latestChangeId(db: Kysely<ApiDatabase>): Promise<number> {
  return (await newestChange(db)).id;
}

/** The id of the newest change (0 when there is none) and the snapshot in which it was the newest. */
export async function newestChange(db: Kysely<ApiDatabase>): Promise<{ id: number; snapshot: string }> {
  const { rows } = await sql<{ id: number | string; snapshot: string }>`
    select coalesce(max(id), 0) as id, pg_current_snapshot()::text as snapshot from ticketing_status_changes
  `.execute(db);
  return { id: Number(rows[0]!.id), snapshot: rows[0]!.snapshot };
}

/** The SSE message of a change (DESIGN.md section 5). */
export function toStatusMessage(change: TicketingChangeRow): TicketingStatusChanged {
  return {
    type: 'ticketing_status_changed',
    eventId: change.event_id,
    status: change.to_status,
    hiEventsEventUrl: change.hi_events_event_url,
    timestamp: change.occurred_at.toISOString(),
  };
}
