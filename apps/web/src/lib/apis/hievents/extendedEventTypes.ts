import type { EventWithHiEvents, TicketingStatus, TicketingStatusChanged } from '@tuvens/contracts';

/**
 * The event types the web app works with, from `packages/contracts`. Only types come from there:
 * the contract's zod schemas stay on the server, out of the browser bundle.
 */
export type {
  ErrorBody,
  EventWithHiEvents,
  GenerateSessionResponse,
  Membership,
  MeResponse,
  TicketingStatus,
  TicketingStatusChanged,
  TicketSummary,
  TicketSummaryChanged,
  User,
  WidgetResizeMessage,
} from '@tuvens/contracts';

/** What the ticket widget needs to know of an event. */
export type TicketingEvent = Pick<
  EventWithHiEvents,
  'id' | 'title' | 'ticketing_status' | 'hi_events_event_id' | 'hi_events_event_url' | 'contactData'
>;

/** An event's ticketing at one moment, from the page's data, the status cache or a live update. */
export interface TicketingSnapshot {
  status: TicketingStatus;
  hiEventsEventId: number | null;
  hiEventsEventUrl: string | null;
  /** When Hi.Events' status last changed (ms since the epoch); 0 when it never has. */
  changedAt: number;
}

function timeOf(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

export function snapshotOfEvent(event: TicketingEvent): TicketingSnapshot {
  return {
    status: event.ticketing_status,
    hiEventsEventId: event.hi_events_event_id,
    hiEventsEventUrl: event.hi_events_event_url,
    changedAt: timeOf(event.contactData.hiEventsLastUpdated),
  };
}

/**
 * A live update names no Hi.Events event id, only its public URL; Hi.Events' public event pages are
 * `/event/{id}/{slug}`, so the id is read from there when the page did not know it yet.
 */
export function snapshotOfUpdate(
  update: TicketingStatusChanged,
  before: TicketingSnapshot,
): TicketingSnapshot {
  const idInUrl = update.hiEventsEventUrl?.match(/\/event\/(\d+)(?:[/?#]|$)/)?.[1];
  return {
    status: update.status,
    hiEventsEventId: idInUrl ? Number(idInUrl) : before.hiEventsEventId,
    hiEventsEventUrl: update.hiEventsEventUrl ?? before.hiEventsEventUrl,
    changedAt: timeOf(update.timestamp),
  };
}

/**
 * An event's ticketing as its page data says, unless a live update says something newer. On a tie
 * the update wins: tuvens-api may give an organizer's change the same time as the change before it.
 */
export function liveSnapshot(
  event: TicketingEvent,
  update: TicketingStatusChanged | undefined,
): TicketingSnapshot {
  const fromPage = snapshotOfEvent(event);
  if (!update) return fromPage;
  const fromUpdate = snapshotOfUpdate(update, fromPage);
  return fromUpdate.changedAt >= fromPage.changedAt ? fromUpdate : fromPage;
}

/** An http(s) URL as given, or undefined: a URL from elsewhere never becomes a `javascript:` link. */
export function safeHttpUrl(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Hi.Events' embed path (`HI_EVENTS_WIDGET_PATH` in the contracts, kept here so zod stays out of the page). */
export const hiEventsWidgetPath = (hiEventsEventId: number) => `/widget/${hiEventsEventId}`;

/**
 * The widget iframe's address, as Hi.Events' own embed script builds it: on the origin of the event's
 * Hi.Events URL, else the configured Hi.Events site.
 */
export function hiEventsWidgetSrc(
  snapshot: TicketingSnapshot,
  hiEventsUrl: string,
  iframeId: string,
): string | undefined {
  if (snapshot.hiEventsEventId === null) return undefined;
  const origin = new URL(safeHttpUrl(snapshot.hiEventsEventUrl) ?? hiEventsUrl).origin;
  const query = new URLSearchParams({ iframeId });
  return `${origin}${hiEventsWidgetPath(snapshot.hiEventsEventId)}?${query}`;
}
