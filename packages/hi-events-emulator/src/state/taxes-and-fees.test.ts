import { describe, expect, it } from 'vitest';
import { priceTotals } from './products.ts';
import type { ProductPrice } from './store.ts';
import { calculateTaxesAndFees, roundLikePhp, type TaxAndFee } from './taxes-and-fees.ts';

const taxOrFee = (
  fields: Pick<TaxAndFee, 'id' | 'name' | 'type' | 'calculation_type' | 'rate'>,
): TaxAndFee => ({
  account_id: 1,
  description: null,
  is_active: true,
  is_default: false,
  created_at: new Date('2026-06-01T10:00:00Z'),
  deleted_at: null,
  ...fields,
});
const VAT = taxOrFee({ id: 1, name: 'VAT', type: 'TAX', calculation_type: 'PERCENTAGE', rate: 10 });
const BOOKING_FEE = taxOrFee({
  id: 2,
  name: 'Booking fee',
  type: 'FEE',
  calculation_type: 'FIXED',
  rate: 1.5,
});

const price = (amount: number): ProductPrice => ({
  id: 1,
  label: null,
  price: amount,
  initial_quantity_available: null,
  quantity_sold: 0,
  sale_start_date: null,
  sale_end_date: null,
});

describe('taxes and fees as Hi.Events computes them', () => {
  it('a 10% tax and a fixed 1.50 fee on 25.00: the fee is charged on the price, the tax on the price and the fee', () => {
    expect(calculateTaxesAndFees([VAT, BOOKING_FEE], 25)).toEqual({
      feeTotal: 1.5,
      taxTotal: 2.65,
      rollUp: {
        fees: [{ name: 'Booking fee', rate: 1.5, type: 'FIXED', value: 1.5 }],
        taxes: [{ name: 'VAT', rate: 10, type: 'PERCENTAGE', value: 2.65 }],
      },
    });
    expect(priceTotals([VAT, BOOKING_FEE], price(25))).toEqual({
      taxTotal: 2.65,
      feeTotal: 1.5,
      priceIncludingTaxesAndFees: 29.15,
    });
  });

  it('for several tickets, the totals and the rollup are the amounts for one times the quantity', () => {
    const three = calculateTaxesAndFees([BOOKING_FEE, VAT], 25, 3);
    expect(three.feeTotal).toBe(4.5);
    expect(roundLikePhp(three.taxTotal)).toBe(7.95);
    expect(three.rollUp).toMatchObject({ fees: [{ value: 4.5 }], taxes: [{ value: 2.65 * 3 }] });
  });

  it('a free price carries no taxes or fees, and no fee total at all', () => {
    expect(priceTotals([VAT, BOOKING_FEE], price(0))).toEqual({
      taxTotal: 0,
      feeTotal: null,
      priceIncludingTaxesAndFees: 0,
    });
    expect(calculateTaxesAndFees([VAT], 0)).toEqual({
      feeTotal: 0,
      taxTotal: 0,
      rollUp: { taxes: [{ name: 'VAT', rate: 10, type: 'PERCENTAGE', value: 0 }] },
    });
  });

  it('a product without taxes or fees pays its bare price, with totals of 0 and an empty rollup', () => {
    expect(calculateTaxesAndFees([], 25)).toEqual({ feeTotal: 0, taxTotal: 0, rollUp: [] });
    expect(priceTotals([], price(12.5))).toEqual({
      taxTotal: 0,
      feeTotal: 0,
      priceIncludingTaxesAndFees: 12.5,
    });
  });

  it('a tax on a fixed fee alone: fees first, whatever order they were attached in', () => {
    const fixedTax = taxOrFee({ id: 3, name: 'City tax', type: 'TAX', calculation_type: 'FIXED', rate: 2 });
    const percentFee = taxOrFee({
      id: 4,
      name: 'Service',
      type: 'FEE',
      calculation_type: 'PERCENTAGE',
      rate: 4,
    });
    // Service: 4% of 19.99 = 0.7996; City tax: 2 (a fixed tax ignores the base).
    expect(priceTotals([fixedTax, percentFee], price(19.99))).toEqual({
      taxTotal: 2,
      feeTotal: 0.8,
      priceIncludingTaxesAndFees: 22.79,
    });
  });

  it("rounds as PHP's round() does: half up on the decimal the float stands for", () => {
    expect(roundLikePhp(1.005)).toBe(1.01);
    expect(Math.round(1.005 * 100) / 100).toBe(1); // what naive rounding gives
    expect(roundLikePhp(2.675)).toBe(2.68);
    expect(roundLikePhp(0.285)).toBe(0.29);
    expect(roundLikePhp(1.0049)).toBe(1);
    expect(roundLikePhp(-1.005)).toBe(-1.01);
    expect(roundLikePhp(25 + 2.65 + 1.5)).toBe(29.15);
    expect(roundLikePhp(123_456_789.125)).toBe(123_456_789.13);
    expect(roundLikePhp(0)).toBe(0);
  });
});
