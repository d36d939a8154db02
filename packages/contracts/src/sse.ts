import { z } from 'zod';
import { TicketingStatus } from './ticketing.ts';

/** Path of the live updates stream on tuvens-api (docs/contract.md#sse). */
export const EVENT_UPDATES_PATH = '/api/events/updates';

/**
 * Sent with every answer that carries ticketing statuses (`GET /api/events`, `GET /api/events/:id`):
 * the viewer's change cursor (`ChangeCursor`) as the answer was read, the newest change it may see. A
 * page built from the answer opens its updates stream after it (`?lastEventId=`), so that a change
 * landing between the answer and the stream is replayed rather than missed.
 */
export const CHANGES_SEEN_HEADER = 'x-ticketing-changes-seen';

/**
 * How a stream numbers changes (docs/contract.md#sse). `public`: only the changes of public events
 * are counted, for viewers who see no private event (anyone not signed in, and members of no
 * account), so that their ids reveal nothing of private events. `log`: the change-log id, for
 * members of an account, whose streams also carry its private events.
 */
export type ChangeNumbering = 'public' | 'log';

/** A position in one numbering: the SSE `id:` of a change, and what `Last-Event-ID` resumes after. */
export interface ChangeCursor {
  readonly numbering: ChangeNumbering;
  readonly id: number;
}

/** `p12` in the public numbering, `12` in the change log's; 0 is before the first change. */
const CHANGE_CURSOR = /^(p?)(0|[1-9][0-9]{0,15})$/;

/** The cursor an SSE id or `x-ticketing-changes-seen` carries; undefined when it is not one. */
export function parseChangeCursor(text: string): ChangeCursor | undefined {
  const match = CHANGE_CURSOR.exec(text);
  if (!match) return undefined;
  return { numbering: match[1] ? 'public' : 'log', id: Number(match[2]) };
}

/** A cursor as an SSE id: `p12` or `12`. */
export function formatChangeCursor(cursor: ChangeCursor): string {
  return `${cursor.numbering === 'public' ? 'p' : ''}${cursor.id}`;
}

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

/** A change cursor as `Last-Event-ID` carries it: `p12` or `12` (`ChangeCursor`). */
export const LastEventId = z
  .string()
  .regex(CHANGE_CURSOR, 'must be an SSE id sent by this stream, such as p12 or 12')
  .transform((text): ChangeCursor => parseChangeCursor(text)!);

/** The `data:` of one SSE message; its SSE `id:` is its `ChangeCursor`. */
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
