import { render, screen, waitFor } from '@testing-library/svelte';
import type { TicketSummary } from '@tuvens/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TicketingEvent } from '#lib/apis/hievents/extendedEventTypes.ts';
import { FakeEventSource, statusChange } from '../../../test-fakes.ts';
import TicketSummaryLine from './TicketSummaryLine.svelte';

const ON_SALE: TicketSummary = {
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 40,
  prices_include_taxes_and_fees: true,
  free: false,
  sales_state: 'on_sale',
  opens_at: null,
  few_left: false,
};

let apiBaseUrl: string;
let testNumber = 0;

beforeEach(() => {
  apiBaseUrl = `http://summary-api-${++testNumber}.test`;
  FakeEventSource.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
});
afterEach(() => vi.unstubAllGlobals());

function eventWith(summary: TicketSummary | null, status: TicketingEvent['ticketing_status'] = 'active') {
  return {
    id: 7,
    title: 'Harbour Lights',
    ticketing_status: status,
    hi_events_event_id: 305,
    hi_events_event_url: 'http://localhost:4200/event/305/harbour-lights',
    contactData: { hiEventsLastUpdated: '2026-11-23T10:00:00.000Z' },
    ticket_summary: summary,
  };
}

describe('TicketSummaryLine', () => {
  it('shows the price line of the page data', () => {
    render(TicketSummaryLine, { event: eventWith(ON_SALE), updatesBaseUrl: apiBaseUrl, changesSeen: 'p10' });
    expect(screen.getByTestId('ticket-summary')).toHaveTextContent('From €25');
  });

  it('flips to "Sold out" when the stream announces it, and ignores other events’ summaries', async () => {
    render(TicketSummaryLine, { event: eventWith(ON_SALE), updatesBaseUrl: apiBaseUrl, changesSeen: 'p10' });
    await waitFor(() => expect(FakeEventSource.open).toHaveLength(1));
    const stream = FakeEventSource.current();
    expect(stream.params.get('eventIds')).toBe('7');
    stream.connect();
    const soldOut = { ...ON_SALE, sales_state: 'sold_out' };
    stream.send({ type: 'ticket_summary_changed', eventId: 8, summary: soldOut, timestamp: 'x' }, 'p11');
    expect(screen.getByTestId('ticket-summary')).not.toHaveTextContent('Sold out');
    stream.send({ type: 'ticket_summary_changed', eventId: 7, summary: soldOut, timestamp: 'x' }, 'p12');
    await waitFor(() => expect(screen.getByTestId('ticket-summary')).toHaveTextContent('Sold out'));
    expect(screen.getByTestId('ticket-summary').dataset.state).toBe('sold_out');
  });

  it('shows nothing while ticketing is not on sale, live', async () => {
    render(TicketSummaryLine, { event: eventWith(ON_SALE), updatesBaseUrl: apiBaseUrl });
    await waitFor(() => expect(FakeEventSource.open).toHaveLength(1));
    const stream = FakeEventSource.current();
    stream.connect();
    stream.send(statusChange(7, 'inactive', '2026-11-23T11:00:00.000Z'), 'p13');
    await waitFor(() => expect(screen.queryByTestId('ticket-summary')).toBeNull());
  });

  it('shows nothing without a summary', () => {
    render(TicketSummaryLine, { event: eventWith(null), updatesBaseUrl: apiBaseUrl });
    expect(screen.queryByTestId('ticket-summary')).toBeNull();
  });
});
