import {
  type ContactData,
  checkTransition,
  type StatusWebhookSkipReason,
  type TicketingStatus,
} from '@tuvens/contracts';
import { compileOnce } from '@tuvens/database';
import {
  type Insertable,
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  type QueryCreator,
  sql,
  type Updateable,
} from 'kysely';
import { type AuditEntry, auditRow, type RequestOrigin } from '../audit/audit-log.ts';
import { columnsOf, selectionOf } from '../database/insert-select.ts';
import type {
  ApiDatabase,
  AuditLogTable,
  EventRow,
  EventsTable,
  TicketingChangeRow,
} from '../database/schema.ts';
import { AppError } from '../errors.ts';
import { type WebhookReceipt, wasReceived } from '../webhooks/receipts.ts';
import type { NewChange } from './change-log.ts';

/** A requested change of one event's ticketing status, from Hi.Events or from an organizer. */
export type StatusChange = {
  eventId: number;
  status: TicketingStatus;
  /** When the change happened at its source; an update older than the one in force is not applied. */
  occurredAt: Date;
  reason?: string | undefined;
  origin?: RequestOrigin | undefined;
} & (
  | {
      source: 'hi-events';
      /** The webhook's id: each one is applied at most once. */
      webhookId: string;
      hiEventsEventId: number | null;
      hiEventsEventUrl: string | null;
      hiEventsStatus: string | null;
    }
  | { source: 'organizer'; actorUserId: number }
);

export type StatusChangeResult =
  | { outcome: 'applied'; event: EventRow; change: TicketingChangeRow }
  | { outcome: 'skipped'; reason: StatusWebhookSkipReason; event: EventRow }
  | { outcome: 'unknown_event' }
  | { outcome: 'linked_elsewhere'; linkedTo: number }
  | { outcome: 'turned_off' }
  | { outcome: 'not_started' }
  | { outcome: 'transition_not_allowed'; from: TicketingStatus; to: TicketingStatus };

/** How often a change is decided afresh when other writes to its event keep slipping in between. */
const MAX_ATTEMPTS = 100;

/**
 * The one way an event's ticketing status changes. It drops a redelivered webhook, an update older
 * than the one in force and a repeat of the current status, refuses what the state machine forbids,
 * and otherwise updates every ticketing field of the event (the seed's legacy mirrors and
 * `contactData` included), records the webhook's receipt and an audit row, and appends to the change
 * log. A refused change writes nothing. Once it has returned, announce an applied change
 * (`ChangeAnnouncer`) so that live clients receive it.
 *
 * It costs two statements and no transaction: one reads the event, the other writes everything, and
 * only if the event is still as it was read (its row version, `xmin`, unchanged); otherwise another
 * change came first, and this one is decided again on the event as it is now.
 */
export async function applyStatusChange(
  db: Kysely<ApiDatabase>,
  change: StatusChange,
  now: Date,
): Promise<StatusChangeResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await attemptStatusChange(db, change, now);
    if (result !== 'overtaken') return result;
    if (attempt === MAX_ATTEMPTS) {
      throw new AppError('service_unavailable', `Event ${change.eventId} is changing too fast; try again`);
    }
  }
}

async function attemptStatusChange(
  db: Kysely<ApiDatabase>,
  change: StatusChange,
  now: Date,
): Promise<StatusChangeResult | 'overtaken'> {
  const webhookId = change.source === 'hi-events' ? change.webhookId : undefined;
  const [read] = await readEventForChange(db, { eventId: change.eventId, webhookId });
  if (!read) return { outcome: 'unknown_event' };
  const { received, version, ...event } = read;
  const duplicate = { outcome: 'skipped', reason: 'duplicate', event } as const;
  if (received) return duplicate;
  // A linked event stays linked to its Hi.Events event until its ticketing goes back to `none`.
  if (
    change.source === 'hi-events' &&
    event.hi_events_event_id !== null &&
    change.hiEventsEventId !== null &&
    change.hiEventsEventId !== event.hi_events_event_id
  ) {
    return { outcome: 'linked_elsewhere', linkedTo: event.hi_events_event_id };
  }
  if (change.source === 'hi-events' && event.ticketing_status === 'none' && change.status !== 'none') {
    const refusal = await linkRefusal(db, event.id);
    if (refusal) return { outcome: refusal };
  }

  const receipt = (outcome: WebhookReceipt['outcome']) =>
    webhookId === undefined ? undefined : { id: webhookId, received_at: now, event_id: event.id, outcome };
  const audit = (entry: StatusChange, skipped?: 'stale' | 'unchanged') =>
    auditRow(now, auditEntry(entry, event.ticketing_status, skipped));
  // The same webhook delivered twice at once, or its id reused for another event, passes the look
  // for its receipt twice; the receipt's unique key then fails the second statement, writing nothing.
  try {
    const inForceSince = event.ticketing_updated_at;
    const late = inForceSince !== null && change.occurredAt < inForceSince;
    if (late && change.source === 'hi-events') {
      // The update in force only ever moves forward, so stale stays stale whatever happens meanwhile.
      await db
        .with('receipt', (cte) => cte.insertInto('webhook_receipts').values(receipt('stale')!))
        .insertInto('audit_log')
        .values(audit(change, 'stale'))
        .execute();
      return { outcome: 'skipped', reason: 'stale', event };
    }
    // An organizer acts on the state they were shown, so their change is never stale; when the
    // sender's clock runs ahead of ours it takes effect just after the update in force.
    const effective: StatusChange = late ? { ...change, occurredAt: inForceSince } : change;

    // An organizer may turn ticketing off from any status; everything else follows the state machine.
    const transition =
      effective.source === 'organizer' && effective.status === 'none'
        ? { ok: true as const, changed: event.ticketing_status !== 'none' }
        : checkTransition(event.ticketing_status, effective.status);
    if (!transition.ok) {
      return { outcome: 'transition_not_allowed', from: event.ticketing_status, to: effective.status };
    }
    if (!transition.changed) {
      // A newer confirmation of the same status still moves the clock on, so that an older,
      // different status arriving after it is recognised as stale.
      const ticketing_updated_at =
        !inForceSince || change.occurredAt > inForceSince ? change.occurredAt : inForceSince;
      const [written] = await writeConfirmation(db, {
        eventId: event.id,
        version,
        set: { ticketing_updated_at },
        receipt: receipt('unchanged'),
        audit: audit(change, 'unchanged'),
      });
      return written ? { outcome: 'skipped', reason: 'unchanged', event } : 'overtaken';
    }

    const fields = nextTicketingFields(event, effective);
    const appended: NewChange = {
      event_id: event.id,
      from_status: event.ticketing_status,
      to_status: effective.status,
      hi_events_event_id: fields.hi_events_event_id,
      hi_events_event_url: fields.hi_events_event_url,
      hi_events_status: fields.contactData.hiEventsStatus ?? null,
      source: effective.source,
      webhook_id: webhookId ?? null,
      actor_user_id: effective.source === 'organizer' ? effective.actorUserId : null,
      reason: effective.reason ?? null,
      occurred_at: effective.occurredAt,
      recorded_at: now,
    };
    const set = { ...fields, contactData: JSON.stringify(fields.contactData), updated_at: now };
    const [written] = await writeChange(db, {
      eventId: event.id,
      version,
      set,
      receipt: receipt('applied'),
      audit: audit(effective),
      appended,
    });
    if (!written) return 'overtaken';
    return {
      outcome: 'applied',
      event: { ...event, ...fields, updated_at: now },
      change: { id: written.id, ...appended },
    };
  } catch (error) {
    if (isReceiptTaken(error)) return duplicate;
    throw error;
  }
}

/**
 * Why Hi.Events may not link an event whose ticketing is `none`, if it may not: ticketing is linked only
 * once an organizer started it from Tuvens, that is once a cross-app session was issued for the event,
 * and after an organizer turned it off, only once a session was issued again since.
 */
async function linkRefusal(
  db: Kysely<ApiDatabase>,
  eventId: number,
): Promise<'turned_off' | 'not_started' | undefined> {
  const [last] = await lastChange(db, { eventId });
  const turnedOffAt =
    last?.source === 'organizer' && last.to_status === 'none' ? last.recorded_at : undefined;
  const [session] = await sessionIssued(db, { eventId, since: turnedOffAt });
  if (session) return undefined;
  return turnedOffAt ? 'turned_off' : 'not_started';
}

type AfterUpdate = ApiDatabase & { updated: { id: number } };
type WritesAfterUpdate = QueryCreator<AfterUpdate>;
type WriteTable = 'webhook_receipts' | 'audit_log' | 'ticketing_status_changes';

/** The event as a change is decided on, whether the webhook was received already, and the row's version. */
const readEventForChange = compileOnce(
  (db: Kysely<ApiDatabase>, values: { eventId: number; webhookId: string | undefined }) =>
    db
      .selectFrom('events')
      .selectAll()
      .select([wasReceived(values.webhookId).as('received'), sql<string>`xmin::text`.as('version')])
      .where('id', '=', values.eventId),
);

/** The event's last change, to tell whether an organizer turned its ticketing off. */
const lastChange = compileOnce((db: Kysely<ApiDatabase>, values: { eventId: number }) =>
  db
    .selectFrom('ticketing_status_changes')
    .select(['source', 'to_status', 'recorded_at'])
    .where('event_id', '=', values.eventId)
    .orderBy('id', 'desc')
    .limit(1),
);

/** A cross-app session issued for the event (since a moment, when one is given). */
const sessionIssued = compileOnce(
  (db: Kysely<ApiDatabase>, values: { eventId: number; since: Date | undefined }) =>
    db
      .selectFrom('crossAppSession')
      .select('id')
      .where('event_id', '=', values.eventId)
      .$if(values.since !== undefined, (query) => query.where('createdAt', '>', values.since!))
      .limit(1),
);

/** What a write after the read changes, and only if the event's row version is still `version`. */
interface WriteIfStillAsRead {
  eventId: number;
  version: string;
  set: Updateable<EventsTable>;
  receipt: WebhookReceipt | undefined;
  audit: Insertable<AuditLogTable>;
}

/**
 * The start of a statement that updates the event only if its row version is still `version`, and
 * records the receipt and the audit row only if it did.
 */
function ifStillAsRead(db: Kysely<ApiDatabase>, values: WriteIfStillAsRead): WritesAfterUpdate {
  let statement: WritesAfterUpdate = db.with('updated', (cte) =>
    cte
      .updateTable('events')
      .set(values.set)
      .where('id', '=', values.eventId)
      .where(sql<boolean>`xmin = ${values.version}::xid`)
      .returning('id'),
  );
  const { receipt, audit } = values;
  if (receipt) statement = statement.with('receipt', (cte) => insertEach(cte, 'webhook_receipts', receipt));
  return statement.with('audit', (cte) => insertEach(cte, 'audit_log', audit));
}

/** An applied change: the event, receipt and audit row as `ifStillAsRead`, and the change log's new row. */
const writeChange = compileOnce(
  (db: Kysely<ApiDatabase>, values: WriteIfStillAsRead & { appended: NewChange }) =>
    insertEach(ifStillAsRead(db, values), 'ticketing_status_changes', values.appended).returning('id'),
);

/** A repeat of the status in force: only its time, the receipt and the audit row, as `ifStillAsRead`. */
const writeConfirmation = compileOnce((db: Kysely<ApiDatabase>, values: WriteIfStillAsRead) =>
  ifStillAsRead(db, values).selectFrom('updated').select('id'),
);

/** Inserts `row` into `table` once for each row the `updated` expression returned: not at all when it returned none. */
function insertEach<T extends WriteTable>(
  statement: WritesAfterUpdate,
  table: T,
  row: Insertable<ApiDatabase[T]>,
): InsertQueryBuilder<AfterUpdate, T, InsertResult> {
  return statement
    .insertInto(table)
    .columns(columnsOf(row) as never)
    .expression((eb) => eb.selectFrom('updated').select(selectionOf(row)));
}

/** Whether an error is the unique key of `webhook_receipts` refusing an id already received. */
function isReceiptTaken(error: unknown): boolean {
  const { code, table } = (error ?? {}) as { code?: unknown; table?: unknown };
  return code === '23505' && table === 'webhook_receipts';
}

/**
 * Every ticketing field of an event after a change, kept consistent with each other: `none` unlinks
 * the Hi.Events event; any other status keeps the link, taking what the change reports over what was
 * known. Keys of `contactData` that are not about ticketing are kept as they are.
 */
export function nextTicketingFields(event: EventRow, change: StatusChange) {
  const linked = change.status !== 'none';
  const reported = change.source === 'hi-events' ? change : undefined;
  const hiEventsEventId = linked ? (reported?.hiEventsEventId ?? event.hi_events_event_id) : null;
  const hiEventsEventUrl = linked ? (reported?.hiEventsEventUrl ?? event.hi_events_event_url) : null;
  const hiEventsStatus = linked ? (reported?.hiEventsStatus ?? event.contactData.hiEventsStatus) : undefined;

  const { hiEventsEventId: _id, hiEventsStatus: _status, ...otherContactData } = event.contactData;
  const contactData: ContactData = {
    ...otherContactData,
    ...(hiEventsEventId !== null && { hiEventsEventId }),
    ...(hiEventsStatus !== undefined && { hiEventsStatus }),
    hiEventsLastUpdated: change.occurredAt.toISOString(),
  };
  return {
    ticketing_status: change.status,
    ticketing_enabled: linked,
    hasTicketing: linked,
    hi_events_event_id: hiEventsEventId,
    hiEventsEventId: hiEventsEventId,
    hi_events_event_url: hiEventsEventUrl,
    contactData,
    ticketing_updated_at: change.occurredAt,
  };
}

function auditEntry(
  change: StatusChange,
  from: TicketingStatus,
  skipped: 'stale' | 'unchanged' | undefined,
): AuditEntry {
  return {
    action: 'ticketing.status_change',
    outcome: 'success',
    actor: change.source === 'hi-events' ? 'hi-events' : 'user',
    actorUserId: change.source === 'organizer' ? change.actorUserId : null,
    eventId: change.eventId,
    reason: skipped,
    origin: change.origin,
    details: {
      from,
      to: change.status,
      applied: skipped === undefined,
      occurredAt: change.occurredAt.toISOString(),
      ...(change.source === 'hi-events' && { webhookId: change.webhookId }),
      ...(change.reason !== undefined && { reason: change.reason }),
    },
  };
}
