import { z } from 'zod';

/** Path of the widget load beacon on tuvens-api. */
export const WIDGET_LOAD_BEACON_PATH = '/api/telemetry/widget-load';

/**
 * What a browser reports about one ticket widget: whether Hi.Events' widget appeared or the page
 * fell back to the link, and how long that took. Sent with `navigator.sendBeacon` as text/plain JSON.
 */
export const WidgetLoadReport = z.object({
  eventId: z.number().int().positive().max(2_147_483_647),
  outcome: z.enum(['loaded', 'fallback']),
  duration_ms: z.number().nonnegative().max(600_000),
});
export type WidgetLoadReport = z.infer<typeof WidgetLoadReport>;
