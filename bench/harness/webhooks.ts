/** Status and ticket summary webhooks signed as the connector signs them (docs/contract.md#webhook-signatures). */

import { STATUS_WEBHOOK_PATH, type TicketSummary } from '@tuvens/contracts';
import { SEED_SIGNATURE_HEADER, signSeedSignature } from '@tuvens/contracts/signatures';
import { Webhook } from 'standardwebhooks';
import type { HttpClient } from './http-client.ts';
import { SECRETS } from './setup.ts';

export type TicketingStatus = 'none' | 'setup' | 'active' | 'inactive';

const HI_EVENTS_STATUS: Record<TicketingStatus, string | null> = {
  none: null,
  setup: 'DRAFT',
  active: 'LIVE',
  inactive: 'ARCHIVED',
};

const standardWebhook = new Webhook(SECRETS.hiEvents, { format: 'raw' });
let webhookSequence = 0;

/** A status webhook body and both signature schemes' headers, ready to POST. */
export function signedStatusWebhook(
  eventId: number,
  status: TicketingStatus,
  options: { now?: Date; hiEventsUrl?: string } = {},
): { body: string; headers: Record<string, string>; id: string } {
  const now = options.now ?? new Date();
  const hiEventsUrl = options.hiEventsUrl ?? 'http://127.0.0.1:4200';
  webhookSequence += 1;
  const id = `whmsg_bench_${process.pid}_${now.getTime()}_${webhookSequence}`;
  const body = JSON.stringify({
    id,
    type: 'event.status_changed',
    occurred_at: now.toISOString(),
    data: {
      tuvens_event_id: eventId,
      hi_events_event_id: 7_000 + eventId,
      status,
      hi_events_event_url: status === 'none' ? null : `${hiEventsUrl}/event/${7_000 + eventId}/bench-event`,
      hi_events_status: HI_EVENTS_STATUS[status],
      reason: 'bench',
    },
  });
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      [SEED_SIGNATURE_HEADER]: signSeedSignature(body, SECRETS.hiEvents),
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': standardWebhook.sign(id, now, body),
    },
  };
}

/** Walks an event's ticketing status along allowed transitions: none → setup → active ⇄ inactive. */
export function nextStatus(current: TicketingStatus): TicketingStatus {
  if (current === 'none') return 'setup';
  if (current === 'setup' || current === 'inactive') return 'active';
  return 'inactive';
}

/** A ticket summary webhook for an event linked by `signedStatusWebhook`, signed as the connector signs it. */
export function signedTicketSummaryWebhook(
  eventId: number,
  summary: TicketSummary,
  options: { now?: Date } = {},
): { body: string; headers: Record<string, string>; id: string } {
  const now = options.now ?? new Date();
  webhookSequence += 1;
  const id = `whmsg_bench_summary_${process.pid}_${now.getTime()}_${webhookSequence}`;
  const body = JSON.stringify({
    id,
    type: 'event.ticket_summary_changed',
    occurred_at: now.toISOString(),
    data: { tuvens_event_id: eventId, hi_events_event_id: 7_000 + eventId, summary },
  });
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': standardWebhook.sign(id, now, body),
    },
  };
}

/** Milliseconds on the system's monotonic clock, which every process on the machine shares. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface SentChange {
  status: TicketingStatus;
  /** When the webhook was sent and when tuvens-api answered, by `options.clock`. */
  sentAt: number;
  answeredAt: number;
}

/**
 * Walks one event's ticketing along its allowed transitions ({@link nextStatus}), one signed status
 * webhook to tuvens-api a call; a call throws unless tuvens-api applied its change.
 */
export function statusWalker(
  client: HttpClient,
  eventId: number,
  options: { hiEventsUrl?: string; clock?: () => number } = {},
): () => Promise<SentChange> {
  const clock = options.clock ?? nowMs;
  let status: TicketingStatus = 'none';
  return async () => {
    status = nextStatus(status);
    const webhook = signedStatusWebhook(eventId, status, { hiEventsUrl: options.hiEventsUrl });
    const sentAt = clock();
    const answer = await client.request('POST', STATUS_WEBHOOK_PATH, {
      headers: webhook.headers,
      body: webhook.body,
    });
    const answeredAt = clock();
    if (answer.status !== 200 || !(JSON.parse(answer.body) as { applied: boolean }).applied) {
      throw new Error(`status webhook: ${answer.status} ${answer.body}`);
    }
    return { status, sentAt, answeredAt };
  };
}
