import { z } from 'zod';
import { HiEventsEventStatus, TicketingStatus } from './ticketing.ts';

/** Path of the status webhook on tuvens-api (DESIGN.md section 4). */
export const STATUS_WEBHOOK_PATH = '/api/webhooks/hi-events/event-status-changed';

/** Largest status webhook body tuvens-api accepts. */
export const STATUS_WEBHOOK_MAX_BYTES = 64 * 1024;

/** How far a webhook's timestamp may lie from the receiver's clock. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;

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

export const StatusWebhookResponse = z.object({
  applied: z.boolean(),
  status: TicketingStatus,
  reason: z.string().optional(),
});
export type StatusWebhookResponse = z.infer<typeof StatusWebhookResponse>;
