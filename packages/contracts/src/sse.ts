import { z } from 'zod';
import { TicketingStatus } from './ticketing.ts';

/** Path of the live updates stream on tuvens-api (DESIGN.md section 5). */
export const EVENT_UPDATES_PATH = '/api/events/updates';

/** The `data:` of one SSE message; its SSE `id:` is the change-log id. */
export const TicketingStatusChanged = z.object({
  type: z.literal('ticketing_status_changed'),
  eventId: z.number().int(),
  status: TicketingStatus,
  hiEventsEventUrl: z.string().nullable(),
  timestamp: z.string(),
});
export type TicketingStatusChanged = z.infer<typeof TicketingStatusChanged>;
