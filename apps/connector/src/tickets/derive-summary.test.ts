import { HiEventsPublicEvent, type HiEventsPublicProduct, TicketSummary } from '@tuvens/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveTicketSummary } from './derive-summary.ts';

const NOW = new Date('2026-12-03T12:00:00Z');
const options = { fewLeftThreshold: 10, now: NOW };

/** A price as `ProductPriceResourcePublic` sends it, on sale, quantities hidden. */
function price(id: number, amount: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    label: null,
    price: amount,
    sale_start_date: null,
    sale_end_date: null,
    price_including_taxes_and_fees: amount,
    price_before_discount: null,
    is_discounted: false,
    tax_total: 0,
    fee_total: 0,
    is_before_sale_start_date: false,
    is_after_sale_end_date: false,
    is_available: true,
    is_sold_out: false,
    ...extra,
  };
}

/** A product as `ProductResourcePublic` sends it. */
function product(
  id: number,
  type: string,
  prices: ReturnType<typeof price>[],
  extra: Record<string, unknown> = {},
) {
  return {
    id,
    title: `Ticket ${id}`,
    type,
    product_type: 'TICKET',
    description: null,
    max_per_order: 10,
    min_per_order: 1,
    sale_start_date: null,
    sale_end_date: null,
    event_id: 305,
    is_before_sale_start_date: false,
    is_after_sale_end_date: false,
    start_collapsed: false,
    ...(type === 'TIERED' ? {} : { price: prices[0]?.price }),
    prices,
    is_available: prices.some((p) => p.is_available),
    is_sold_out: prices.every((p) => p.is_sold_out),
    product_category_id: 1,
    is_highlighted: false,
    highlight_message: null,
    waitlist_enabled: false,
    ...extra,
  };
}

/** The public event, parsed with the schema the connector reads it with. */
function event(products: unknown[], currency = 'EUR') {
  return HiEventsPublicEvent.parse({
    id: 305,
    title: 'Harbour Lights',
    currency,
    status: 'LIVE',
    lifecycle_status: 'UPCOMING',
    start_date: '2027-03-14T18:00:00.000000Z',
    end_date: '2027-03-14T22:00:00.000000Z',
    product_categories: [{ id: 1, name: 'Tickets', is_hidden: false, order: 1, products }],
  });
}

describe('deriveTicketSummary', () => {
  it('a paid ticket on sale is "from" its price including taxes and fees', () => {
    const summary = deriveTicketSummary(
      event([product(1, 'PAID', [price(1, 25, { price_including_taxes_and_fees: 27.5 })])]),
      options,
    );
    expect(summary).toEqual({
      currency: 'EUR',
      lowest_price: 27.5,
      highest_price: 27.5,
      prices_include_taxes_and_fees: true,
      free: false,
      sales_state: 'on_sale',
      opens_at: null,
      few_left: false,
    });
  });

  it('tiered prices give the lowest and highest tier still offered', () => {
    const tiered = product(1, 'TIERED', [
      price(1, 15, { is_sold_out: true, is_available: false }),
      price(2, 25),
      price(3, 60),
    ]);
    const summary = deriveTicketSummary(event([tiered, product(2, 'PAID', [price(4, 40)])]), options);
    expect(summary).toMatchObject({
      lowest_price: 25,
      highest_price: 60,
      sales_state: 'on_sale',
      free: false,
    });
  });

  it('an event whose every ticket costs nothing is free', () => {
    const summary = deriveTicketSummary(event([product(1, 'FREE', [price(1, 0)])]), options);
    expect(summary).toMatchObject({ free: true, lowest_price: 0, highest_price: 0, sales_state: 'on_sale' });
  });

  it('a free ticket beside a paid one is not free, and starts from 0', () => {
    const summary = deriveTicketSummary(
      event([product(1, 'FREE', [price(1, 0)]), product(2, 'PAID', [price(2, 25)])]),
      options,
    );
    expect(summary).toMatchObject({ free: false, lowest_price: 0, highest_price: 25 });
  });

  it('every ticket sold out is sold out, keeping the prices they had', () => {
    const soldOut = { is_sold_out: true, is_available: false, quantity_remaining: 0 };
    const summary = deriveTicketSummary(
      event([
        product(1, 'TIERED', [price(1, 25, soldOut), price(2, 40, soldOut)], { quantity_available: 0 }),
      ]),
      options,
    );
    expect(summary).toMatchObject({
      sales_state: 'sold_out',
      lowest_price: 25,
      highest_price: 40,
      few_left: false,
    });
  });

  it('sales that open later are not yet open, with the earliest opening', () => {
    const later = (at: string) => ({ sale_start_date: at, is_before_sale_start_date: true });
    const summary = deriveTicketSummary(
      event([
        product(1, 'PAID', [price(1, 25)], later('2026-12-12 10:00:00')),
        product(2, 'PAID', [price(2, 40)], later('2026-12-19 10:00:00')),
      ]),
      options,
    );
    expect(summary).toMatchObject({ sales_state: 'not_yet', opens_at: '2026-12-12T10:00:00.000Z' });
  });

  it('a tier opening later does not hide another on sale now', () => {
    const summary = deriveTicketSummary(
      event([
        product(1, 'TIERED', [
          price(1, 25),
          price(2, 35, { sale_start_date: '2026-12-20 09:00:00', is_before_sale_start_date: true }),
        ]),
      ]),
      options,
    );
    expect(summary).toMatchObject({
      sales_state: 'on_sale',
      opens_at: null,
      lowest_price: 25,
      highest_price: 35,
    });
  });

  it('a sales window that opened since Hi.Events answered counts as open', () => {
    const summary = deriveTicketSummary(
      event([
        product(1, 'PAID', [price(1, 25)], {
          sale_start_date: '2026-12-03 11:59:00',
          is_before_sale_start_date: true,
        }),
      ]),
      options,
    );
    expect(summary.sales_state).toBe('on_sale');
  });

  it('closed sales windows are ended', () => {
    const summary = deriveTicketSummary(
      event([
        product(1, 'PAID', [price(1, 25)], {
          sale_end_date: '2026-12-01 00:00:00',
          is_after_sale_end_date: true,
        }),
      ]),
      options,
    );
    expect(summary.sales_state).toBe('ended');
  });

  it('few left only when every ticket on sale shows its quantity and they sum to the threshold or less', () => {
    const shown = (left: number) =>
      product(left, 'PAID', [price(left, 25, { quantity_remaining: left })], {
        quantity_available: left,
      });
    expect(deriveTicketSummary(event([shown(4), shown(6)]), options).few_left).toBe(true);
    expect(deriveTicketSummary(event([shown(4), shown(7)]), options).few_left).toBe(false);
    // Quantities hidden on one ticket: Hi.Events does not show what is left, so neither does Tuvens.
    expect(deriveTicketSummary(event([shown(2), product(9, 'PAID', [price(9, 30)])]), options).few_left).toBe(
      false,
    );
  });

  it("an unlimited quantity shown as Hi.Events' infinity is never few", () => {
    const unlimited = product(1, 'PAID', [price(1, 25, { quantity_remaining: null })], {
      quantity_available: 999_999_999,
    });
    expect(deriveTicketSummary(event([unlimited]), options).few_left).toBe(false);
  });

  it('prices lacking taxes and fees are reported as bare prices', () => {
    const bare = price(1, 25);
    delete (bare as Partial<typeof bare>).price_including_taxes_and_fees;
    const summary = deriveTicketSummary(
      event([product(1, 'PAID', [bare, price(2, 30, { price: 28 })])]),
      options,
    );
    expect(summary).toMatchObject({
      prices_include_taxes_and_fees: false,
      lowest_price: 25,
      highest_price: 28,
    });
  });

  it('products that are not tickets, and events without products, offer no tickets', () => {
    const merch = product(1, 'PAID', [price(1, 15)], { product_type: 'GENERAL' });
    expect(deriveTicketSummary(event([merch]), options).sales_state).toBe('none');
    const bare = HiEventsPublicEvent.parse({ id: 305, title: 'Harbour Lights', currency: 'usd' });
    expect(deriveTicketSummary(bare, options)).toMatchObject({ sales_state: 'none', currency: null });
  });

  it('the currency is reported in capitals', () => {
    expect(deriveTicketSummary(event([product(1, 'PAID', [price(1, 5)])], 'usd'), options).currency).toBe(
      'USD',
    );
  });

  it('any products at all give a summary the contract accepts, with prices among those offered', () => {
    const arbitraryPrice = fc.record({
      id: fc.nat(),
      price: fc.double({ min: 0, max: 10_000, noNaN: true }),
      price_including_taxes_and_fees: fc.option(fc.double({ min: 0, max: 12_000, noNaN: true }), {
        nil: undefined,
      }),
      sale_start_date: fc.option(
        fc
          .date({ min: new Date('2026-01-01'), max: new Date('2027-12-31'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        { nil: null },
      ),
      sale_end_date: fc.option(
        fc
          .date({ min: new Date('2026-01-01'), max: new Date('2027-12-31'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        { nil: null },
      ),
      is_sold_out: fc.boolean(),
      quantity_remaining: fc.option(fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }), {
        nil: undefined,
      }),
    });
    const arbitraryProduct = fc.record({
      id: fc.nat(),
      title: fc.string(),
      type: fc.constantFrom('PAID', 'FREE', 'DONATION', 'TIERED'),
      product_type: fc.constantFrom('TICKET', 'GENERAL'),
      quantity_available: fc.option(fc.integer({ min: 0, max: 999_999_999 }), { nil: undefined }),
      prices: fc.array(arbitraryPrice, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(arbitraryProduct, { maxLength: 5 }),
        fc.integer({ min: 0, max: 50 }),
        (products, threshold) => {
          const parsed = event(products as HiEventsPublicProduct[]);
          const summary = deriveTicketSummary(parsed, { fewLeftThreshold: threshold, now: NOW });
          expect(TicketSummary.safeParse(summary).success).toBe(true);
          const tickets = parsed
            .product_categories!.flatMap((c) => c.products ?? [])
            .filter((p) => p.product_type === 'TICKET');
          const hasOffers = tickets.some((p) => (p.prices ?? []).length > 0);
          expect(summary.sales_state === 'none').toBe(!hasOffers);
          if (summary.lowest_price !== null) {
            const amounts = tickets.flatMap((p) =>
              (p.prices ?? []).flatMap((q) => [q.price, q.price_including_taxes_and_fees ?? q.price]),
            );
            expect(amounts.some((a) => Math.abs(a - summary.lowest_price!) < 0.006)).toBe(true);
          }
        },
      ),
    );
  });
});
