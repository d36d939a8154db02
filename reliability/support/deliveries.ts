/** Counting: the connector's outbox against what tuvens-api applied. */

import type { TicketingStatus } from '@tuvens/contracts';
import type { Sql } from './postgres.ts';

export interface OutboxMessage {
  id: number;
  message_id: string;
  tuvens_event_id: number;
  ticketing_status: TicketingStatus;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
}

export interface AppliedChange {
  id: number;
  /** Its number among public events' changes; null for a private event's. */
  public_seq: number | null;
  event_id: number;
  to_status: TicketingStatus;
  webhook_id: string | null;
}

export interface WebhookReceipt {
  id: string;
  event_id: number;
  outcome: 'applied' | 'stale' | 'unchanged';
}

/** The status webhooks in the connector's outbox (ticket summaries travel it too, to their own path). */
export function readOutbox(connector: Sql): Promise<OutboxMessage[]> {
  return connector.rows<OutboxMessage>(
    `select id::int, message_id, tuvens_event_id, ticketing_status, status, attempts, last_status_code, last_error
     from status_outbox where webhook_path is null order by id`,
  );
}

/** The status changes in tuvens-api's change log (ticket summaries are logged there too). */
export function readChangeLog(api: Sql): Promise<AppliedChange[]> {
  return api.rows<AppliedChange>(
    'select id::int, public_seq::int, event_id, to_status, webhook_id from ticketing_status_changes where ticket_summary is null order by id',
  );
}

export function readReceipts(api: Sql): Promise<WebhookReceipt[]> {
  return api.rows<WebhookReceipt>('select id, event_id, outcome from webhook_receipts');
}

export async function readTicketingStatuses(
  api: Sql,
  eventIds: number[],
): Promise<Map<number, TicketingStatus>> {
  const rows = await api.rows<{ id: number; ticketing_status: TicketingStatus }>(
    'select id, ticketing_status from events where id = any($1::int[])',
    [eventIds],
  );
  return new Map(rows.map((row) => [row.id, row.ticketing_status]));
}

export interface DeliveryAccount {
  queued: number;
  delivered: number;
  pending: number;
  dead: number;
  /** Queued messages that tuvens-api applied exactly once, as the change they describe. */
  appliedOnce: number;
  /** Messages that reached tuvens-api but were not applied (stale or unchanged): lost updates. */
  notApplied: number;
  /** Queued messages of which tuvens-api has no trace. */
  lost: number;
  /** Change-log entries beyond one per message. */
  duplicates: number;
  /** Events whose applied changes are not in the order the connector queued them. */
  outOfOrder: number;
  problems: string[];
}

/**
 * Compares the connector's outbox with tuvens-api's receipts and change log: every queued message
 * must be delivered, have one receipt that says it was applied, appear once in the change log, and
 * each event's changes must be in the order the connector queued them.
 */
export function accountForDeliveries(
  outbox: OutboxMessage[],
  changes: AppliedChange[],
  receipts: WebhookReceipt[],
): DeliveryAccount {
  const problems: string[] = [];
  const receiptOf = new Map(receipts.map((receipt) => [receipt.id, receipt]));
  const changesOf = new Map<string, AppliedChange[]>();
  for (const change of changes) {
    if (change.webhook_id === null) continue;
    changesOf.set(change.webhook_id, [...(changesOf.get(change.webhook_id) ?? []), change]);
  }
  const account: DeliveryAccount = {
    queued: outbox.length,
    delivered: outbox.filter((message) => message.status === 'delivered').length,
    pending: outbox.filter((message) => message.status === 'pending').length,
    dead: outbox.filter((message) => message.status === 'dead').length,
    appliedOnce: 0,
    notApplied: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    problems,
  };
  for (const message of outbox) {
    const receipt = receiptOf.get(message.message_id);
    const applied = changesOf.get(message.message_id) ?? [];
    if (message.status !== 'delivered') {
      const why = message.last_error
        ? ` (last answer ${message.last_status_code}: ${message.last_error})`
        : '';
      problems.push(`message ${message.id} is ${message.status}${why}`);
    }
    if (applied.length > 1) {
      account.duplicates += applied.length - 1;
      problems.push(`message ${message.id} was applied ${applied.length} times`);
    }
    if (!receipt && applied.length === 0) {
      account.lost++;
      problems.push(`message ${message.id} (${message.ticketing_status}) never reached tuvens-api`);
    } else if (receipt?.outcome !== 'applied' || applied.length === 0) {
      account.notApplied++;
      problems.push(
        `message ${message.id} (${message.ticketing_status}) was taken in as ${receipt?.outcome}`,
      );
    } else if (applied.length === 1 && applied[0]!.to_status === message.ticketing_status) {
      account.appliedOnce++;
    }
  }
  const queuedIds = new Set(outbox.map((message) => message.message_id));
  for (const change of changes) {
    if (change.webhook_id !== null && !queuedIds.has(change.webhook_id)) {
      problems.push(`change ${change.id} came from a webhook the connector never queued`);
    }
  }
  const eventIds = new Set(outbox.map((message) => message.tuvens_event_id));
  for (const eventId of eventIds) {
    const queuedOrder = outbox
      .filter((message) => message.tuvens_event_id === eventId)
      .map((message) => message.message_id);
    const appliedOrder = changes
      .filter((change) => change.event_id === eventId && change.webhook_id !== null)
      .map((change) => change.webhook_id);
    if (JSON.stringify(queuedOrder) !== JSON.stringify(appliedOrder)) {
      account.outOfOrder++;
      problems.push(`event ${eventId}: applied in another order than queued`);
    }
  }
  return account;
}

/** The counts of an account, without the list of problems, for a summary line. */
export function countsOf(account: DeliveryAccount) {
  const { problems: _, ...counts } = account;
  return counts;
}
