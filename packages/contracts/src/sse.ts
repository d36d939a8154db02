import { z } from 'zod';
import { TicketingStatus } from './ticketing.ts';

/** Path of the live updates stream on tuvens-api (docs/contract.md#sse). */
export const EVENT_UPDATES_PATH = '/api/events/updates';

/**
 * Sent with every answer that carries ticketing statuses (`GET /api/events`, `GET /api/events/:id`):
 * the id of the newest change in the log when the answer was read. A page built from the answer
 * opens its updates stream after this id (`?lastEventId=`), so that a change landing between the
 * answer and the stream is replayed rather than missed.
 */
export const CHANGES_SEEN_HEADER = 'x-ticketing-changes-seen';

/** Most event ids that one stream's `?eventIds=` filter may name. */
export const EVENT_UPDATES_MAX_EVENT_IDS = 100;

/** `?eventIds=1,2`: comma-separated positive whole numbers, each named once or more. */
export const EventIdsFilter = z
  .string()
  .regex(/^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9})*$/, 'must be comma-separated positive whole numbers')
  .transform((value) => [...new Set(value.split(',').map(Number))])
  .pipe(
    z
      .array(z.number().max(2_147_483_647, 'names an event id that is too large'))
      .max(EVENT_UPDATES_MAX_EVENT_IDS, `may name at most ${EVENT_UPDATES_MAX_EVENT_IDS} events`),
  );

/** A change-log id as `Last-Event-ID` carries it: a whole number, 0 or more. */
export const LastEventId = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a whole number sent as an SSE id by this stream')
  .transform(Number);

/** The `data:` of one SSE message; its SSE `id:` is the change-log id. */
export const TicketingStatusChanged = z.object({
  type: z.literal('ticketing_status_changed'),
  eventId: z.number().int(),
  status: TicketingStatus,
  hiEventsEventUrl: z.string().nullable(),
  /** When the change happened at its source (ISO 8601). */
  timestamp: z.string(),
});
export type TicketingStatusChanged = z.infer<typeof TicketingStatusChanged>;

/**
 * The SSE event name of the one message a stream sends once it has caught up. Its `id:` is where the
 * stream stands, so a client that saw no change yet still resumes from there after a reconnect.
 * Being a named event, it does not fire `onmessage`.
 */
export const STREAM_READY_EVENT = 'ready';

export const StreamReady = z.object({ type: z.literal('ready') });
export type StreamReady = z.infer<typeof StreamReady>;
