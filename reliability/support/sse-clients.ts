/** Browsers' SSE clients that reconnect and resume, and what each received. */

import {
  EVENT_UPDATES_PATH,
  formatChangeCursor,
  parseChangeCursor,
  type TicketingStatus,
} from '@tuvens/contracts';
import { openUpdatesStream } from '@tuvens/testing';
import type { AppliedChange } from './deliveries.ts';

export interface ReceivedChange {
  /** Its SSE id: `p12` on a stream of public events only, the change-log id on a member's. */
  id: string;
  eventId: number;
  status: TicketingStatus;
}

export interface SseClient {
  readonly name: string;
  /** Every change received, across reconnections, in arrival order. */
  readonly changes: ReceivedChange[];
  /** The id of each `ready` event: one per (re)connection. */
  readonly readyIds: string[];
  /** Each connection made: which instance, and the `Last-Event-ID` it resumed from. */
  readonly connections: { baseUrl: string; lastEventId: string | null }[];
  close(): void;
}

/**
 * A browser's `EventSource` on `GET /api/events/updates` (the shared one of @tuvens/testing, which
 * reconnects and resumes with `Last-Event-ID`). `baseUrl` is asked on every connection, so the test
 * can point clients at another instance once theirs is gone.
 */
export function openSseClient(
  name: string,
  baseUrl: () => string,
  { query = '', bearer }: { query?: string; bearer?: string } = {},
): SseClient {
  const stream = openUpdatesStream<{ type: string; eventId: number; status: TicketingStatus }>(
    baseUrl,
    `${EVENT_UPDATES_PATH}${query}`,
    { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} },
  );
  return {
    name,
    get changes() {
      // Status changes only: ticket summaries share the stream as a message type of their own.
      return stream.messages
        .filter(({ data }) => data.type === 'ticketing_status_changed')
        .map(({ id, data }) => ({ id, eventId: data.eventId, status: data.status }));
    },
    readyIds: stream.readyIds,
    connections: stream.connections,
    close: () => stream.close(),
  };
}

/**
 * The SSE ids a client resuming after `from` (an id it was sent, which tells its numbering) should
 * receive of `changes`: those after it that `sees` lets through, in the order of that numbering.
 */
export function expectedIds(
  changes: readonly AppliedChange[],
  from: string,
  sees: (eventId: number) => boolean = () => true,
): string[] {
  const { numbering, id: after } = parseChangeCursor(from)!;
  return changes
    .map((change) => ({ change, number: numbering === 'public' ? change.public_seq : change.id }))
    .filter(({ change, number }) => number !== null && number > after && sees(change.event_id))
    .sort((a, b) => a.number! - b.number!)
    .map(({ number }) => formatChangeCursor({ numbering, id: number! }));
}

/** Compares what an SSE client received with what it should have: missing and repeated change ids. */
export function compareReceived(client: SseClient, expectedIds: string[]) {
  const received = client.changes.map((change) => change.id);
  const seen = new Set<string>();
  let duplicates = 0;
  for (const id of received) {
    if (seen.has(id)) duplicates++;
    seen.add(id);
  }
  const missing = expectedIds.filter((id) => !seen.has(id));
  const expected = new Set(expectedIds);
  const unexpected = [...seen].filter((id) => !expected.has(id));
  const numbers = received.map((id) => parseChangeCursor(id)?.id ?? Number.NaN);
  const inOrder = numbers.every((number, index) => index === 0 || number > numbers[index - 1]!);
  return {
    received: received.length,
    expected: expectedIds.length,
    missing,
    duplicates,
    unexpected,
    inOrder,
  };
}
