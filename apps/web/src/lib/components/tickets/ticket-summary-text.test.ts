import type { TicketSummary } from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import { describeTicketSummary } from './ticket-summary-text.ts';

const base: TicketSummary = {
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 60,
  prices_include_taxes_and_fees: true,
  free: false,
  sales_state: 'on_sale',
  opens_at: null,
  few_left: false,
};
const now = new Date('2026-12-03T12:00:00Z');
const describe_ = (summary: Partial<TicketSummary>) =>
  describeTicketSummary({ ...base, ...summary }, { now, timeZone: 'UTC' });

describe('describeTicketSummary', () => {
  it('says "From" the lowest price in its currency, or the one price when all cost the same', () => {
    expect(describe_({})).toMatchObject({ price: 'From €25', availability: undefined });
    expect(describe_({ highest_price: 25 }).price).toBe('€25');
    expect(describe_({ currency: 'USD', lowest_price: 12.5 }).price).toBe('From $12.50');
  });

  it('says "Free" when every ticket is free', () => {
    expect(describe_({ free: true, lowest_price: 0, highest_price: 0 }).price).toBe('Free');
  });

  it('says when sales open, and counts a passed opening as open', () => {
    expect(describe_({ sales_state: 'not_yet', opens_at: '2026-12-12T10:00:00Z' }).availability).toBe(
      'Sales open Sat 12 Dec, 10:00',
    );
    expect(describe_({ sales_state: 'not_yet', opens_at: '2026-12-03T11:00:00Z' })).toMatchObject({
      state: 'on_sale',
      availability: undefined,
    });
  });

  it('says "Few tickets left", "Sold out" and "Sales ended"', () => {
    expect(describe_({ few_left: true }).availability).toBe('Few tickets left');
    expect(describe_({ sales_state: 'sold_out' }).availability).toBe('Sold out');
    expect(describe_({ sales_state: 'ended' }).availability).toBe('Sales ended');
  });

  it('says nothing for an event without tickets', () => {
    expect(
      describe_({ sales_state: 'none', lowest_price: null, highest_price: null, currency: null }),
    ).toMatchObject({ price: undefined, availability: undefined });
  });
});
