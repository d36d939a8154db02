import { z } from 'zod';

/**
 * Facts of stock Hi.Events that more than one part relies on. The embed script
 * (Hi.Events `frontend/src/embed/widget.js`) loads `{origin}/widget/{eventId}?iframeId=…`
 * and the widget page posts `{type: 'resize', height, iframeId}` to its parent; the parent
 * honours it only from the Hi.Events origin.
 */
export const HI_EVENTS_WIDGET_PATH = (eventId: number) => `/widget/${eventId}`;

export const WidgetResizeMessage = z.object({
  type: z.literal('resize'),
  height: z.number().positive(),
  iframeId: z.string(),
});
export type WidgetResizeMessage = z.infer<typeof WidgetResizeMessage>;

/** The envelope of every webhook Hi.Events sends (`WebhookDispatchService`). */
export const HiEventsWebhookEnvelope = z.object({
  event_type: z.string(),
  event_sent_at: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export type HiEventsWebhookEnvelope = z.infer<typeof HiEventsWebhookEnvelope>;
