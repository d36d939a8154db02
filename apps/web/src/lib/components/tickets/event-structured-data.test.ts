import type { EventWithHiEvents } from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import { describeEventPage } from './event-structured-data.ts';

const event: EventWithHiEvents = {
  id: 17,
  account_id: 1,
  account_name: 'Harbour </script> Collective',
  title: 'Harbour Lights </script><script>alert(1)</script>',
  starts_at: '2027-03-14T18:00:00.000Z',
  ends_at: '2027-03-14T22:00:00.000Z',
  visibility: 'public',
  ticketing_enabled: true,
  ticketing_status: 'active',
  hi_events_event_id: 305,
  hi_events_event_url: 'https://tickets.example.com/event/305/harbour-lights',
  hasTicketing: true,
  hiEventsEventId: 305,
  contactData: {},
  can_manage_ticketing: false,
  ticket_summary: {
    currency: 'EUR',
    lowest_price: 25,
    highest_price: 60,
    prices_include_taxes_and_fees: true,
    free: false,
    sales_state: 'not_yet',
    opens_at: '2027-01-10T10:00:00.000Z',
    few_left: false,
  },
};
const now = new Date('2026-12-03T12:00:00Z');

describe('describeEventPage', () => {
  it('gives a public event schema.org Event JSON-LD whose AggregateOffer matches the summary', () => {
    const meta = describeEventPage(event, 'https://tuvens.example', now);
    expect(meta.canonicalUrl).toBe('https://tuvens.example/event/17');
    expect(meta.jsonLd).not.toContain('</script>');
    expect(JSON.parse(meta.jsonLd!)).toEqual({
      '@context': 'https://schema.org',
      '@type': 'Event',
      name: event.title,
      startDate: event.starts_at,
      endDate: event.ends_at,
      eventStatus: 'https://schema.org/EventScheduled',
      url: 'https://tuvens.example/event/17',
      organizer: { '@type': 'Organization', name: 'Harbour </script> Collective' },
      offers: {
        '@type': 'AggregateOffer',
        lowPrice: 25,
        highPrice: 60,
        priceCurrency: 'EUR',
        availability: 'https://schema.org/PreOrder',
        validFrom: '2027-01-10T10:00:00.000Z',
        url: event.hi_events_event_url,
      },
    });
    expect(meta.description).toContain('Tickets: From €25, Sales open');
  });

  it('marks a sold-out event SoldOut, and offers nothing without a summary or while not on sale', () => {
    const soldOut = {
      ...event,
      ticket_summary: { ...event.ticket_summary!, sales_state: 'sold_out' as const, opens_at: null },
    };
    expect(JSON.parse(describeEventPage(soldOut, 'https://t.example', now).jsonLd!).offers.availability).toBe(
      'https://schema.org/SoldOut',
    );
    expect(
      JSON.parse(describeEventPage({ ...event, ticket_summary: null }, 'https://t.example', now).jsonLd!)
        .offers,
    ).toBeUndefined();
    const paused = { ...event, ticketing_status: 'inactive' as const };
    expect(JSON.parse(describeEventPage(paused, 'https://t.example', now).jsonLd!).offers).toBeUndefined();
  });

  it('names no organizer when the answer carries no account name', () => {
    const { account_name: _, ...older } = event;
    expect(JSON.parse(describeEventPage(older, 'https://t.example', now).jsonLd!).organizer).toBeUndefined();
  });

  it('emits no JSON-LD for a private event', () => {
    expect(
      describeEventPage({ ...event, visibility: 'private' }, 'https://t.example', now).jsonLd,
    ).toBeUndefined();
  });
});
