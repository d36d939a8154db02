import { sameTicketSummary, type TicketSummary, type TicketSummaryChanged } from '@tuvens/contracts';
import { type Kysely, sql } from 'kysely';
import { auditRow, type RequestOrigin } from '../audit/audit-log.ts';
import type { ApiDatabase, TicketingChangeRow } from '../database/schema.ts';

/** A ticket summary reported by the connector for one event. */
export interface TicketSummaryReport {
  webhookId: string;
  eventId: number;
  hiEventsEventId: number;
  summary: TicketSummary;
  /** When the summary was observed; one older than the summary in force is not applied. */
  occurredAt: Date;
  origin?: RequestOrigin | undefined;
}

export type TicketSummaryResult =
  | { outcome: 'applied'; change: TicketingChangeRow }
  | { outcome: 'skipped'; reason: 'duplicate' | 'stale' | 'unchanged' }
  | { outcome: 'unknown_event' };

/**
 * Stores an event's ticket summary (docs/contract.md#ticket-summary-processing): each webhook id once, the
 * latest observation wins, and a summary of a Hi.Events event the Tuvens event is not linked to (any more)
 * counts as stale. An applied summary is appended to the change log, whose id the caller announces once
 * this has committed. The event row is locked for the decision, so concurrent reports are decided one
 * after the other and a redelivery racing its original sees its receipt.
 */
export async function applyTicketSummary(
  db: Kysely<ApiDatabase>,
  report: TicketSummaryReport,
  now: Date,
): Promise<TicketSummaryResult> {
  return db.transaction().execute(async (trx) => {
    const event = await trx
      .selectFrom('events')
      .select([
        'id',
        'ticketing_status',
        'hi_events_event_id',
        'hi_events_event_url',
        'contactData',
        'ticket_summary',
        'ticket_summary_updated_at',
      ])
      .where('id', '=', report.eventId)
      .forUpdate()
      .executeTakeFirst();
    if (!event) return { outcome: 'unknown_event' };
    const received = await trx
      .selectFrom('webhook_receipts')
      .select('id')
      .where('id', '=', report.webhookId)
      .executeTakeFirst();
    if (received) return { outcome: 'skipped', reason: 'duplicate' };

    const audit = (skipped?: 'stale' | 'unchanged') =>
      auditRow(now, {
        action: 'ticketing.ticket_summary',
        outcome: 'success',
        actor: 'hi-events',
        eventId: event.id,
        reason: skipped,
        origin: report.origin,
        details: {
          applied: skipped === undefined,
          webhookId: report.webhookId,
          hiEventsEventId: report.hiEventsEventId,
          occurredAt: report.occurredAt.toISOString(),
          salesState: report.summary.sales_state,
        },
      });
    const skip = async (reason: 'stale' | 'unchanged') => {
      await trx
        .insertInto('webhook_receipts')
        .values({ id: report.webhookId, received_at: now, event_id: event.id, outcome: reason })
        .execute();
      await trx.insertInto('audit_log').values(audit(reason)).execute();
      return { outcome: 'skipped', reason } as const;
    };

    const inForceSince = event.ticket_summary_updated_at;
    const linkedElsewhere = event.hi_events_event_id !== report.hiEventsEventId;
    if (linkedElsewhere || (inForceSince !== null && report.occurredAt < inForceSince)) return skip('stale');
    if (event.ticket_summary !== null && sameTicketSummary(event.ticket_summary, report.summary)) {
      await trx
        .updateTable('events')
        .set({ ticket_summary_updated_at: report.occurredAt })
        .where('id', '=', event.id)
        .execute();
      return skip('unchanged');
    }

    const summaryJson = sql<TicketSummary>`${JSON.stringify(report.summary)}::jsonb`;
    await trx
      .updateTable('events')
      .set({ ticket_summary: summaryJson, ticket_summary_updated_at: report.occurredAt, updated_at: now })
      .where('id', '=', event.id)
      .execute();
    await trx
      .insertInto('webhook_receipts')
      .values({ id: report.webhookId, received_at: now, event_id: event.id, outcome: 'applied' })
      .execute();
    await trx.insertInto('audit_log').values(audit()).execute();
    const change = await trx
      .insertInto('ticketing_status_changes')
      .values({
        event_id: event.id,
        // A summary leaves the status as it is; the row repeats it so that readers of the log that know
        // only status changes see no move.
        from_status: event.ticketing_status,
        to_status: event.ticketing_status,
        hi_events_event_id: event.hi_events_event_id,
        hi_events_event_url: event.hi_events_event_url,
        hi_events_status: event.contactData.hiEventsStatus ?? null,
        source: 'hi-events',
        webhook_id: report.webhookId,
        actor_user_id: null,
        reason: 'ticket_summary',
        occurred_at: report.occurredAt,
        recorded_at: now,
        ticket_summary: summaryJson,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { outcome: 'applied', change };
  });
}

/** The SSE message of a change-log row that carries a ticket summary (docs/contract.md#sse-messages). */
export function toTicketSummaryMessage(
  change: TicketingChangeRow & { ticket_summary: TicketSummary },
): TicketSummaryChanged {
  return {
    type: 'ticket_summary_changed',
    eventId: change.event_id,
    summary: change.ticket_summary,
    timestamp: change.occurred_at.toISOString(),
  };
}
