import type { AccountRole, CreateEventRequest, EventWithHiEvents } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import { canManage } from '../accounts/memberships.ts';
import type { ApiDatabase, EventRow } from '../database/schema.ts';

/** The event as the API answers it, with the seed's `EventWithHiEvents` field names. */
export function toEventWithHiEvents(
  row: EventRow,
  accountName: string,
  viewerRole: AccountRole | null,
): EventWithHiEvents {
  return {
    id: row.id,
    account_id: row.account_id,
    account_name: accountName,
    title: row.title,
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    visibility: row.visibility,
    ticketing_enabled: row.ticketing_enabled,
    ticketing_status: row.ticketing_status,
    hi_events_event_id: row.hi_events_event_id,
    hi_events_event_url: row.hi_events_event_url,
    hasTicketing: row.hasTicketing,
    hiEventsEventId: row.hiEventsEventId,
    contactData: row.contactData,
    can_manage_ticketing: canManage(viewerRole),
    // A summary describes the linked Hi.Events event; without a link there is none to tell.
    ticket_summary: row.ticketing_status === 'none' ? null : row.ticket_summary,
  };
}

export async function createEvent(
  db: Kysely<ApiDatabase>,
  accountId: number,
  input: CreateEventRequest,
): Promise<EventRow> {
  return db
    .insertInto('events')
    .values({
      account_id: accountId,
      title: input.title,
      starts_at: new Date(input.starts_at),
      ends_at: new Date(input.ends_at),
      visibility: input.visibility,
      hi_events_event_id: null,
      hi_events_event_url: null,
      hiEventsEventId: null,
      ticketing_updated_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findEvent(db: Kysely<ApiDatabase>, id: number): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface ViewedEvent {
  event: EventRow;
  /** The name of the account the event belongs to, shown as its organizer. */
  accountName: string;
  /** The viewer's role in the event's account, if they have one. */
  role: AccountRole | null;
}

/** An event as one viewer may see it: public events to everyone, private ones to their account's members. */
export async function viewEvent(
  db: Kysely<ApiDatabase>,
  id: number,
  viewerId: number | undefined,
): Promise<ViewedEvent | undefined> {
  const row = await db
    .selectFrom('events')
    .leftJoin('account_members', (join) =>
      join
        .onRef('account_members.account_id', '=', 'events.account_id')
        .on('account_members.user_id', '=', viewerId ?? -1),
    )
    .innerJoin('accounts', 'accounts.id', 'events.account_id')
    .selectAll('events')
    .select(['account_members.role', 'accounts.name as account_name'])
    .where('events.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const { role, account_name, ...event } = row;
  if (event.visibility === 'private' && !role) return undefined;
  return { event, accountName: account_name, role: role ?? null };
}

/** Events a viewer may see, soonest first: every public event and the private ones of their accounts. */
export async function listVisibleEvents(
  db: Kysely<ApiDatabase>,
  viewerId: number | undefined,
): Promise<ViewedEvent[]> {
  const rows = await db
    .selectFrom('events')
    .leftJoin('account_members', (join) =>
      join
        .onRef('account_members.account_id', '=', 'events.account_id')
        .on('account_members.user_id', '=', viewerId ?? -1),
    )
    .innerJoin('accounts', 'accounts.id', 'events.account_id')
    .selectAll('events')
    .select(['account_members.role', 'accounts.name as account_name'])
    .where((where) =>
      where.or([where('events.visibility', '=', 'public'), where('account_members.role', 'is not', null)]),
    )
    .orderBy('events.starts_at')
    .orderBy('events.id')
    .limit(500)
    .execute();
  return rows.map(({ role, account_name, ...event }) => ({
    event,
    accountName: account_name,
    role: role ?? null,
  }));
}
