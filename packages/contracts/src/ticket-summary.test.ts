import { describe, expect, it } from 'vitest';
import { parseHiEventsInstant } from './hi-events-public.ts';
import { NO_TICKETS, TicketSummary, TicketSummaryWebhook } from './ticket-summary.ts';

const onSale = {
  ...NO_TICKETS,
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 40,
  sales_state: 'on_sale',
};

describe('TicketSummary', () => {
  it('accepts a summary on sale and the summary of no tickets', () => {
    expect(TicketSummary.safeParse(onSale).success).toBe(true);
    expect(TicketSummary.safeParse(NO_TICKETS).success).toBe(true);
  });

  it('refuses a highest price below the lowest, naming highest_price', () => {
    const result = TicketSummary.safeParse({ ...onSale, highest_price: 10 });
    expect(result.error?.issues[0]?.path).toEqual(['highest_price']);
  });

  it('refuses an opening time unless sales are not yet open', () => {
    const result = TicketSummary.safeParse({ ...onSale, opens_at: '2026-12-12T10:00:00Z' });
    expect(result.error?.issues[0]?.path).toEqual(['opens_at']);
    const later = { ...onSale, sales_state: 'not_yet', opens_at: '2026-12-12T10:00:00Z' };
    expect(TicketSummary.safeParse(later).success).toBe(true);
  });

  it('refuses few_left when not on sale', () => {
    const result = TicketSummary.safeParse({ ...onSale, sales_state: 'sold_out', few_left: true });
    expect(result.error?.issues[0]?.path).toEqual(['few_left']);
  });

  it('refuses a currency that is not three capitals, and a negative price', () => {
    expect(TicketSummary.safeParse({ ...onSale, currency: 'eur' }).success).toBe(false);
    expect(TicketSummary.safeParse({ ...onSale, lowest_price: -1 }).success).toBe(false);
  });
});

describe('TicketSummaryWebhook', () => {
  it('carries the event ids and the summary under an id and a time', () => {
    const webhook = {
      id: 'whmsg_x',
      type: 'event.ticket_summary_changed',
      occurred_at: '2027-03-14T10:00:00.000Z',
      data: { tuvens_event_id: 17, hi_events_event_id: 305, summary: onSale },
    };
    expect(TicketSummaryWebhook.safeParse(webhook).success).toBe(true);
    expect(TicketSummaryWebhook.safeParse({ ...webhook, type: 'event.status_changed' }).success).toBe(false);
  });
});

describe('parseHiEventsInstant', () => {
  it('reads the database form as UTC and an ISO instant as itself', () => {
    expect(parseHiEventsInstant('2026-12-12 10:00:00')?.toISOString()).toBe('2026-12-12T10:00:00.000Z');
    expect(parseHiEventsInstant('2026-12-12T10:00:00.000000Z')?.toISOString()).toBe(
      '2026-12-12T10:00:00.000Z',
    );
    expect(parseHiEventsInstant('not a date')).toBeNull();
    expect(parseHiEventsInstant(null)).toBeNull();
  });
});
