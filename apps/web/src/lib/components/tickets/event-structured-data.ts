import type { Event as SchemaEvent, WithContext } from 'schema-dts';
import type { EventWithHiEvents } from '#lib/apis/hievents/extendedEventTypes.ts';
import { describeTicketSummary, schemaAvailability } from './ticket-summary-text.ts';

// Built once: building a formatter per page was a tenth of the server's CPU per event page.
const STARTS_AT_FORMAT = new Intl.DateTimeFormat('en-GB', {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

/** What search engines and link previews are told of an event page. */
export interface EventPageMeta {
  canonicalUrl: string;
  description: string;
  /** schema.org `Event` as JSON-LD; absent for a private event. */
  jsonLd: string | undefined;
}

/** JSON for a `<script type="application/ld+json">`: `<` escaped so that no text can close the element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * The meta description, canonical URL and schema.org `Event` (its `organizer` the owning account, and an
 * `AggregateOffer` built from the ticket summary while tickets are on sale or about to be) of a public
 * event's page.
 */
export function describeEventPage(event: EventWithHiEvents, origin: string, now: Date): EventPageMeta {
  const canonicalUrl = `${origin}/event/${event.id}`;
  const when = STARTS_AT_FORMAT.format(new Date(event.starts_at));
  const summary = event.ticketing_status === 'active' ? event.ticket_summary : null;
  const text = summary ? describeTicketSummary(summary, { now, timeZone: 'UTC' }) : undefined;
  const ticketLine = [text?.price, text?.availability].filter(Boolean).join(', ');
  const description = `${event.title}: ${when}${ticketLine ? `. Tickets: ${ticketLine}` : ''}.`;
  if (event.visibility !== 'public') return { canonicalUrl, description, jsonLd: undefined };

  const data: WithContext<SchemaEvent> = {
    '@context': 'https://schema.org',
    '@type': 'Event',
    name: event.title,
    startDate: event.starts_at,
    endDate: event.ends_at,
    eventStatus: 'https://schema.org/EventScheduled',
    url: canonicalUrl,
    ...(event.account_name && { organizer: { '@type': 'Organization', name: event.account_name } }),
    ...(summary &&
      summary.sales_state !== 'none' &&
      summary.lowest_price !== null &&
      summary.highest_price !== null &&
      summary.currency !== null && {
        offers: {
          '@type': 'AggregateOffer',
          lowPrice: summary.lowest_price,
          highPrice: summary.highest_price,
          priceCurrency: summary.currency,
          availability: schemaAvailability(text?.state ?? summary.sales_state),
          ...(summary.opens_at !== null && { validFrom: summary.opens_at }),
          url: event.hi_events_event_url ?? canonicalUrl,
        },
      }),
  };
  return { canonicalUrl, description, jsonLd: jsonForScript(data) };
}
