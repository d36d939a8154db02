import {
  type ContactData,
  checkTransition,
  type StatusWebhookSkipReason,
  type TicketingStatus,
} from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import { type AuditEntry, type RequestOrigin, recordAudit } from '../audit/audit-log.ts';
import type { ApiDatabase, EventRow, TicketingChangeRow } from '../database/schema.ts';
import { recordReceipt, wasReceived } from '../webhooks/receipts.ts';
import { appendChange } from './change-log.ts';

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
  | { outcome: 'transition_not_allowed'; from: TicketingStatus; to: TicketingStatus };

/**
 * The one way an event's ticketing status changes. In one transaction it locks the event, drops a
 * redelivered webhook, an update older than the one in force and a repeat of the current status,
 * refuses what the state machine forbids, and otherwise updates every ticketing field of the event
 * (the seed's legacy mirrors and `contactData` included), records the webhook's receipt and an audit
 * row, and appends to the change log, which notifies every instance's SSE clients on commit.
 * A refused change writes nothing.
 */
export async function applyStatusChange(
  db: Kysely<ApiDatabase>,
  change: StatusChange,
  now: Date,
): Promise<StatusChangeResult> {
  const webhookId = change.source === 'hi-events' ? change.webhookId : undefined;
  return db.transaction().execute(async (trx) => {
    const locked = await trx
      .selectFrom('events')
      .selectAll()
      .select(wasReceived(webhookId).as('received'))
      .where('id', '=', change.eventId)
      .forUpdate()
      .executeTakeFirst();
    if (!locked) return { outcome: 'unknown_event' };

    const { received, ...event } = locked;
    const duplicate = { outcome: 'skipped', reason: 'duplicate', event } as const;
    if (received) return duplicate;
    // The event's row lock serialises deliveries for one event; the unique receipt id also catches an
    // id reused for another event at the same moment.
    const receive = async (outcome: 'applied' | 'stale' | 'unchanged') =>
      webhookId === undefined ||
      recordReceipt(trx, { id: webhookId, received_at: now, event_id: event.id, outcome });

    const inForceSince = event.ticketing_updated_at;
    const skip = async (reason: 'stale' | 'unchanged'): Promise<StatusChangeResult> => {
      if (!(await receive(reason))) return duplicate;
      // A newer confirmation of the same status still moves the clock on, so that an older,
      // different status arriving after it is recognised as stale.
      if (reason === 'unchanged' && (!inForceSince || change.occurredAt > inForceSince)) {
        await trx
          .updateTable('events')
          .set({ ticketing_updated_at: change.occurredAt })
          .where('id', '=', event.id)
          .execute();
      }
      await recordAudit(trx, now, auditEntry(change, event.ticketing_status, reason));
      return { outcome: 'skipped', reason, event };
    };

    const late = inForceSince !== null && change.occurredAt < inForceSince;
    if (late && change.source === 'hi-events') return skip('stale');
    // An organizer acts on the state they were shown, so their change is never stale; when the
    // sender's clock runs ahead of ours it takes effect just after the update in force.
    const effective: StatusChange = late ? { ...change, occurredAt: inForceSince } : change;

    const transition = checkTransition(event.ticketing_status, effective.status);
    if (!transition.ok) {
      return { outcome: 'transition_not_allowed', from: event.ticketing_status, to: effective.status };
    }
    if (!transition.changed) return skip('unchanged');
    if (!(await receive('applied'))) return duplicate;

    const fields = nextTicketingFields(event, effective);
    const updated = await trx
      .updateTable('events')
      .set({ ...fields, contactData: JSON.stringify(fields.contactData), updated_at: now })
      .where('id', '=', event.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, now, auditEntry(effective, event.ticketing_status, undefined));
    const appended = await appendChange(trx, {
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
    });
    return { outcome: 'applied', event: updated, change: appended };
  });
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
