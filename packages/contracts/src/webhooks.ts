import { z } from 'zod';
import { HiEventsEventStatus, TicketingStatus } from './ticketing.ts';

/** Path of the status webhook on tuvens-api (docs/contract.md#status-webhook). */
export const STATUS_WEBHOOK_PATH = '/api/webhooks/hi-events/event-status-changed';

/** Largest status webhook body tuvens-api accepts. */
export const STATUS_WEBHOOK_MAX_BYTES = 64 * 1024;

/** How far a webhook's timestamp may lie from the receiver's clock. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;

/** The headers of a Standard Webhooks signature (https://www.standardwebhooks.com). */
export const STANDARD_WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** The Hi.Events side's report that an event's ticketing status changed. */
export const StatusWebhook = z.object({
  /** Unique per message and kept across retries; the receiver applies each id once. */
  id: z.string().min(1).max(200),
  type: z.literal('event.status_changed'),
  occurred_at: z.iso.datetime({ offset: true }),
  data: z.object({
    tuvens_event_id: z.number().int().positive().max(2_147_483_647),
    hi_events_event_id: z.number().int().positive().max(2_147_483_647).nullable(),
    status: TicketingStatus,
    hi_events_event_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .nullable(),
    hi_events_status: HiEventsEventStatus.nullable(),
    reason: z.string().max(200).optional(),
  }),
});
export type StatusWebhook = z.infer<typeof StatusWebhook>;

/**
 * Why a verified webhook changed nothing: `duplicate` (its id was already received), `stale` (older than
 * the update in force) or `unchanged` (the status it reports is already the event's status).
 */
export const StatusWebhookSkipReason = z.enum(['duplicate', 'stale', 'unchanged']);
export type StatusWebhookSkipReason = z.infer<typeof StatusWebhookSkipReason>;

/** The answer to a verified status webhook: whether it was applied, and the event's status now. */
export const StatusWebhookResponse = z.object({
  applied: z.boolean(),
  status: TicketingStatus,
  reason: StatusWebhookSkipReason.optional(),
});
export type StatusWebhookResponse = z.infer<typeof StatusWebhookResponse>;
