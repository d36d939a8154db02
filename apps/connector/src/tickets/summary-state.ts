import {
  sameTicketSummary,
  TICKET_SUMMARY_WEBHOOK_PATH,
  type TicketSummary,
  TicketSummaryWebhook,
} from '@tuvens/contracts';
import { type Kysely, sql } from 'kysely';
import type { ConnectorDatabase } from '../database/schema.ts';
import { generateMessageId } from '../outbox/outbox.ts';

/** One event's claimed re-derivation. */
export interface ClaimedSummary {
  tuvensEventId: number;
  hiEventsEventId: number;
  /** The claim's own lapse time: it identifies the claim when the work is recorded. */
  claimedUntil: Date;
  failures: number;
}

/**
 * Asks for the ticket summary of the linked Hi.Events event to be derived again. Durable and cheap: a
 * burst of webhooks for one event only counts up one row, which one derivation then serves.
 * Answers when the event's next derivation may start (the end of a claim under way, else its turn),
 * or undefined when the event is not linked.
 */
export async function requestTicketSummary(
  db: Kysely<ConnectorDatabase>,
  hiEventsEventId: number,
  now: Date,
): Promise<Date | undefined> {
  const result = await db
    .insertInto('ticket_summary_state')
    .columns(['tuvens_event_id', 'hi_events_event_id', 'requests', 'next_derive_at'])
    .expression((eb) =>
      eb
        .selectFrom('event_links')
        .select([
          'tuvens_event_id',
          'hi_events_event_id',
          sql<number>`1`.as('requests'),
          sql<Date>`${now}::timestamptz`.as('next_derive_at'),
        ])
        .where('hi_events_event_id', '=', hiEventsEventId),
    )
    .onConflict((oc) =>
      oc.column('tuvens_event_id').doUpdateSet({
        requests: sql`ticket_summary_state.requests + 1`,
        hi_events_event_id: (eb) => eb.ref('excluded.hi_events_event_id'),
      }),
    )
    .returning(sql<Date | string>`greatest(next_derive_at, claimed_until)`.as('due_at'))
    .executeTakeFirst();
  return result ? new Date(result.due_at) : undefined;
}

/**
 * Whether the event has no summary out for delivery to tuvens-api right now. While one is, the next waits:
 * else a delivery that took longer than the interval would be followed at once by the next, queued behind
 * it meanwhile. (One waiting for a retry is not out: a newer summary replaces it, `recordDerivation`.)
 */
const noSummaryInFlight = (now: Date) => sql<boolean>`not exists (
  select 1 from status_outbox sent
  where sent.tuvens_event_id = due.tuvens_event_id
    and sent.webhook_path = ${TICKET_SUMMARY_WEBHOOK_PATH}
    and sent.status = 'pending'
    and sent.claimed_until > ${now}
)`;

/**
 * Claims events whose summary is wanted and whose interval has passed, in one statement. Instances
 * sharing the database never derive one event at once: a row another claim holds is waited for and then
 * read again, and is no longer due, since that claim set `claimed_until`. It waits rather than skips
 * (`SKIP LOCKED`) because a webhook's request locks the same row for a moment: in a burst of hundreds of
 * order webhooks a second the row is nearly always locked, and skipping it passed the event over until
 * the burst ended. The claim remembers how many requests it serves; requests arriving meanwhile stay for
 * the next one.
 */
export async function claimDueSummaries(
  db: Kysely<ConnectorDatabase>,
  now: Date,
  options: { limit: number; leaseMs: number },
): Promise<ClaimedSummary[]> {
  const claimedUntil = new Date(now.getTime() + options.leaseMs);
  const { rows } = await sql<{ tuvens_event_id: number; hi_events_event_id: number; failures: number }>`
    update ticket_summary_state set claimed_until = ${claimedUntil}, claimed_requests = requests
    where tuvens_event_id in (
      select due.tuvens_event_id from ticket_summary_state due
      where due.requests > 0
        and due.next_derive_at <= ${now}
        and (due.claimed_until is null or due.claimed_until <= ${now})
        and ${noSummaryInFlight(now)}
      order by due.next_derive_at
      limit ${options.limit}
      for update
    )
    returning tuvens_event_id, hi_events_event_id, failures`.execute(db);
  return rows.map((row) => ({
    tuvensEventId: row.tuvens_event_id,
    hiEventsEventId: row.hi_events_event_id,
    claimedUntil,
    failures: row.failures,
  }));
}

/**
 * Starts an event's interval again from tuvens-api's acknowledgement of its summary, which comes after
 * tuvens-api received it: the next summary is read, and so sent, no sooner than `notBefore`. Counting
 * from the derivation alone would let a delivery that took longer than the next one bring two within the
 * interval; one not answered within the interval holds the next back until it is (`noSummaryInFlight`).
 */
export async function deferNextDerivation(
  db: Kysely<ConnectorDatabase>,
  tuvensEventId: number,
  notBefore: Date,
): Promise<void> {
  await db
    .updateTable('ticket_summary_state')
    .set({ next_derive_at: sql<Date>`greatest(next_derive_at, ${notBefore}::timestamptz)` })
    .where('tuvens_event_id', '=', tuvensEventId)
    .execute();
}

/**
 * When the next claimable derivation is due, to sleep exactly until then. An event with a summary out for
 * delivery has none until tuvens-api answers, which the outbox reports (`deferNextDerivation`).
 */
export async function nextSummaryDueAt(db: Kysely<ConnectorDatabase>, now: Date): Promise<Date | undefined> {
  const { rows } = await sql<{ next: Date | string | null }>`
    select min(case when claimed_until > ${now} then claimed_until else next_derive_at end) as next
    from ticket_summary_state due where requests > 0 and ${noSummaryInFlight(now)}`.execute(db);
  const next = rows[0]?.next;
  return next ? new Date(next) : undefined;
}

/** How a claimed derivation ended. */
export type DerivationOutcome =
  /** The summary now; queued for tuvens-api when it differs from the one last queued. */
  | { kind: 'derived'; summary: TicketSummary; observedAt: Date }
  /** Nothing to tell buyers: the event is not on Hi.Events' public pages (not live, deleted) or no longer linked. */
  | { kind: 'nothing' }
  /** Hi.Events could not be asked; tried again after `retryAt`. */
  | { kind: 'failed'; retryAt: Date };

/**
 * Records a derivation and, when the summary changed, queues it in the outbox in the same transaction.
 * A summary still waiting in the outbox, not yet out for delivery, is replaced rather than followed:
 * after an outage tuvens-api gets the latest state once, not every state in between.
 * Answers whether a message was queued.
 */
export async function recordDerivation(
  db: Kysely<ConnectorDatabase>,
  claim: ClaimedSummary,
  outcome: DerivationOutcome,
  options: { now: Date; intervalMs: number },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const state = await trx
      .selectFrom('ticket_summary_state')
      .selectAll()
      .where('tuvens_event_id', '=', claim.tuvensEventId)
      .forUpdate()
      .executeTakeFirst();
    // Our claim lapsed and another worker took the event: its result will be recorded instead.
    if (!state || state.claimed_until?.getTime() !== claim.claimedUntil.getTime()) return false;

    if (outcome.kind === 'failed') {
      await trx
        .updateTable('ticket_summary_state')
        .set((eb) => ({
          claimed_until: null,
          failures: eb('failures', '+', 1),
          next_derive_at: outcome.retryAt,
        }))
        .where('tuvens_event_id', '=', claim.tuvensEventId)
        .execute();
      return false;
    }

    let queued = false;
    const settled = {
      claimed_until: null,
      failures: 0,
      next_derive_at: new Date(options.now.getTime() + options.intervalMs),
    };
    if (
      outcome.kind === 'derived' &&
      !(state.reported_summary && sameTicketSummary(state.reported_summary, outcome.summary))
    ) {
      await trx
        .deleteFrom('status_outbox')
        .where('tuvens_event_id', '=', claim.tuvensEventId)
        .where('webhook_path', '=', TICKET_SUMMARY_WEBHOOK_PATH)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', options.now)]))
        .execute();
      const message = TicketSummaryWebhook.parse({
        id: generateMessageId(),
        type: 'event.ticket_summary_changed',
        occurred_at: outcome.observedAt.toISOString(),
        data: {
          tuvens_event_id: claim.tuvensEventId,
          hi_events_event_id: claim.hiEventsEventId,
          summary: outcome.summary,
        },
      });
      const reportedStatus = await trx
        .selectFrom('event_links')
        .select('reported_status')
        .where('tuvens_event_id', '=', claim.tuvensEventId)
        .executeTakeFirst();
      await trx
        .insertInto('status_outbox')
        .values({
          message_id: message.id,
          tuvens_event_id: claim.tuvensEventId,
          // The status in force as the connector reported it: the summary does not change it.
          ticketing_status: reportedStatus?.reported_status ?? 'active',
          body: JSON.stringify(message),
          webhook_path: TICKET_SUMMARY_WEBHOOK_PATH,
          next_attempt_at: options.now,
          claimed_until: null,
          last_error: null,
          last_status_code: null,
          created_at: options.now,
          delivered_at: null,
          dead_at: null,
        })
        .execute();
      queued = true;
      await trx
        .updateTable('ticket_summary_state')
        .set({
          reported_summary: sql<TicketSummary>`${JSON.stringify(outcome.summary)}::jsonb`,
          reported_at: options.now,
        })
        .where('tuvens_event_id', '=', claim.tuvensEventId)
        .execute();
    }
    await trx
      .updateTable('ticket_summary_state')
      .set((eb) => ({
        ...settled,
        requests: eb('requests', '-', eb.ref('claimed_requests')),
        claimed_requests: 0,
      }))
      .where('tuvens_event_id', '=', claim.tuvensEventId)
      .execute();
    return queued;
  });
}
