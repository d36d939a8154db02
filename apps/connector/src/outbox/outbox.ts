import { randomBytes } from 'node:crypto';
import { type HiEventsEventStatus, StatusWebhook, type TicketingStatus } from '@tuvens/contracts';
import { type Kysely, sql, type Updateable } from 'kysely';
import type { ConnectorDatabase, OutboxRow, OutboxStatus, StatusOutboxTable } from '../database/schema.ts';

/** A status change for tuvens-api, as the connector observed it. */
export interface StatusChange {
  tuvensEventId: number;
  status: TicketingStatus;
  hiEventsEventId: number | null;
  hiEventsEventUrl: string | null;
  hiEventsStatus: HiEventsEventStatus | null;
  reason: string;
  /** When the connector observed the change. */
  occurredAt: Date;
}

/** A message id in the style of Standard Webhooks; it stays the same across every retry. */
export function generateMessageId(): string {
  return `whmsg_${randomBytes(16).toString('base64url')}`;
}

/**
 * Queues a status webhook for tuvens-api. Call it in the transaction that records the change, so that
 * the change and its delivery are kept or lost together.
 */
export async function enqueueStatusChange(
  db: Kysely<ConnectorDatabase>,
  change: StatusChange,
  now: Date,
): Promise<OutboxRow> {
  const message: StatusWebhook = StatusWebhook.parse({
    id: generateMessageId(),
    type: 'event.status_changed',
    occurred_at: change.occurredAt.toISOString(),
    data: {
      tuvens_event_id: change.tuvensEventId,
      hi_events_event_id: change.hiEventsEventId,
      status: change.status,
      hi_events_event_url: change.hiEventsEventUrl,
      hi_events_status: change.hiEventsStatus,
      reason: change.reason,
    },
  });
  return db
    .insertInto('status_outbox')
    .values({
      message_id: message.id,
      tuvens_event_id: change.tuvensEventId,
      ticketing_status: change.status,
      body: JSON.stringify(message),
      next_attempt_at: now,
      claimed_until: null,
      last_error: null,
      last_status_code: null,
      created_at: now,
      delivered_at: null,
      dead_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Whether the pending message `due` is its event's oldest: none may overtake it. */
const isFirstOfItsEvent = sql<boolean>`not exists (
  select 1 from status_outbox earlier
  where earlier.tuvens_event_id = due.tuvens_event_id and earlier.status = 'pending' and earlier.id < due.id
)`;

/**
 * Claims the messages that are due now, at most one per event: the oldest pending message of an
 * event goes before any newer one, so an event's statuses arrive in the order they happened. The
 * claim is one statement with `FOR UPDATE SKIP LOCKED`, so instances sharing the database never
 * take the same message; a claim lapses after `leaseMs` in case its worker dies mid-send.
 */
export async function claimDueMessages(
  db: Kysely<ConnectorDatabase>,
  now: Date,
  options: { limit: number; leaseMs: number },
): Promise<OutboxRow[]> {
  const claimedUntil = new Date(now.getTime() + options.leaseMs);
  const rows = await sql<OutboxRow>`
    update status_outbox set claimed_until = ${claimedUntil}
    where id in (
      select due.id from status_outbox due
      where due.status = 'pending'
        and due.next_attempt_at <= ${now}
        and (due.claimed_until is null or due.claimed_until <= ${now})
        and ${isFirstOfItsEvent}
      order by due.next_attempt_at, due.id
      limit ${options.limit}
      for update skip locked
    )
    returning *`.execute(db);
  return rows.rows.sort((a, b) => a.id - b.id);
}

/**
 * Records the outcome of one delivery attempt of a claimed, still pending message: the attempt is
 * counted, the claim released, and the given columns set.
 */
async function recordAttempt(
  db: Kysely<ConnectorDatabase>,
  id: number,
  outcome: Omit<Updateable<StatusOutboxTable>, 'attempts' | 'claimed_until'>,
): Promise<void> {
  await db
    .updateTable('status_outbox')
    .set((eb) => ({ ...outcome, attempts: eb('attempts', '+', 1), claimed_until: null }))
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

export async function markDelivered(
  db: Kysely<ConnectorDatabase>,
  id: number,
  now: Date,
  statusCode: number,
): Promise<void> {
  await recordAttempt(db, id, {
    status: 'delivered',
    delivered_at: now,
    last_status_code: statusCode,
    last_error: null,
  });
}

export async function markForRetry(
  db: Kysely<ConnectorDatabase>,
  id: number,
  input: { nextAttemptAt: Date; error: string; statusCode: number | null },
): Promise<void> {
  await recordAttempt(db, id, {
    next_attempt_at: input.nextAttemptAt,
    last_error: input.error,
    last_status_code: input.statusCode,
  });
}

/** A final failure: the message stays, visible as a dead letter, until someone retries it. */
export async function markDead(
  db: Kysely<ConnectorDatabase>,
  id: number,
  now: Date,
  input: { error: string; statusCode: number | null },
): Promise<void> {
  await recordAttempt(db, id, {
    status: 'dead',
    dead_at: now,
    last_error: input.error,
    last_status_code: input.statusCode,
  });
}

/**
 * Deletes the messages delivered before a moment; answers how many. Pending messages and dead
 * letters stay: the first are still to go, the second wait for an operator.
 */
export async function pruneDeliveredMessages(db: Kysely<ConnectorDatabase>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('status_outbox')
    .where('status', '=', 'delivered')
    .where('delivered_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Puts a dead letter back in the queue, due at once; answers whether there was one to revive. */
export async function reviveDeadLetter(
  db: Kysely<ConnectorDatabase>,
  id: number,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('status_outbox')
    .set({ status: 'pending', next_attempt_at: now, dead_at: null, claimed_until: null })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function listMessages(
  db: Kysely<ConnectorDatabase>,
  status: OutboxStatus,
  limit: number,
): Promise<OutboxRow[]> {
  return db
    .selectFrom('status_outbox')
    .selectAll()
    .where('status', '=', status)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function countMessages(db: Kysely<ConnectorDatabase>): Promise<Record<OutboxStatus, number>> {
  const rows = await db
    .selectFrom('status_outbox')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('status')
    .execute();
  const counts: Record<OutboxStatus, number> = { pending: 0, delivered: 0, dead: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

/**
 * When the next message that could be claimed is due, to sleep exactly until then: a message waiting
 * behind an earlier one of its event is not, and one out for delivery only once its claim lapses.
 */
export async function nextDueAt(db: Kysely<ConnectorDatabase>, now: Date): Promise<Date | undefined> {
  const { rows } = await sql<{ next: Date | string | null }>`
    select min(case when due.claimed_until > ${now} then due.claimed_until else due.next_attempt_at end) as next
    from status_outbox due
    where due.status = 'pending'
      and ${isFirstOfItsEvent}`.execute(db);
  const next = rows[0]?.next;
  return next ? new Date(next) : undefined;
}
