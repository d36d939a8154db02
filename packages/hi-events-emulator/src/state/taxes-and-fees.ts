/**
 * Taxes and fees as Hi.Events keeps and applies them: an account's `TaxAndFee` records (a TAX or a FEE,
 * PERCENTAGE or FIXED), attached to products, and what they add to a price. Paths are in Hi.Events'
 * `backend/` (v1.8.0-beta).
 */

/** `TaxAndFeesDomainObject` (app/DomainObjects/Generated/TaxAndFeesDomainObjectAbstract.php). */
export interface TaxAndFee {
  id: number;
  account_id: number;
  name: string;
  description: string | null;
  /** `TaxCalculationType` (app/DomainObjects/Enums/TaxCalculationType.php). */
  calculation_type: 'PERCENTAGE' | 'FIXED';
  /** A percentage or an amount in the event's currency; the column is `numeric(10, 3)`. */
  rate: number;
  is_active: boolean;
  is_default: boolean;
  /** `TaxType` (app/DomainObjects/Enums/TaxType.php). */
  type: 'TAX' | 'FEE';
  created_at: Date;
  deleted_at: Date | null;
}

/** `TaxAndFeeResource` (app/Resources/Tax/TaxAndFeeResource.php). */
export function taxAndFeeResource(taxOrFee: TaxAndFee) {
  return {
    id: taxOrFee.id,
    account_id: taxOrFee.account_id,
    name: taxOrFee.name,
    description: taxOrFee.description,
    calculation_type: taxOrFee.calculation_type,
    rate: taxOrFee.rate,
    is_active: taxOrFee.is_active,
    is_default: taxOrFee.is_default,
    type: taxOrFee.type,
  };
}

/**
 * PHP 8.3's `round($value, $places)` with `PHP_ROUND_HALF_UP`, which Hi.Events' `Currency::round`
 * (app/Helper/Currency.php) calls: PHP first pre-rounds the float to 15 significant digits, so it rounds
 * the decimal the float stands for (`round(1.005, 2)` is 1.01, where `Math.round(100.49999…)` gives 1.00),
 * then rounds half away from zero.
 */
export function roundLikePhp(value: number, places = 2): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const prerounded = Number(Math.abs(value).toPrecision(15)).toString();
  const [digits, exponent = '0'] = prerounded.split('e');
  // Shifting the decimal point in the text keeps the decimal exact, where `* 100` would not.
  const shifted = Math.round(Number(`${digits}e${Number(exponent) + places}`));
  return Math.sign(value) * Number(`${shifted}e-${places}`);
}

/** One line of a `taxes_and_fees_rollup` (app/Services/Domain/Tax/TaxAndFeeRollupService.php). */
interface RollupLine {
  name: string;
  rate: number;
  type: TaxAndFee['calculation_type'];
  value: number;
}

/** `{fees?: […], taxes?: […]}`, keyed as `strtolower(Str::plural($type))`; PHP's empty array is `[]`. */
export type TaxAndFeeRollup = Partial<Record<'fees' | 'taxes', RollupLine[]>> | [];

export interface TaxCalculation {
  feeTotal: number;
  taxTotal: number;
  rollUp: TaxAndFeeRollup;
}

/**
 * `TaxAndFeeCalculationService::calculateTaxAndFeesForProduct`
 * (app/Services/Domain/Tax/TaxAndFeeCalculationService.php): fees are charged on the price, then taxes
 * on the price *and* its fees; a FIXED one adds its rate, a PERCENTAGE one `price × rate / 100`. Nothing is
 * charged on an amount of exactly 0. Each amount is per unit; the totals and the rollup are × quantity.
 * Unrounded, as Hi.Events returns them: its callers round.
 */
export function calculateTaxesAndFees(
  taxesAndFees: readonly TaxAndFee[],
  price: number,
  quantity = 1,
): TaxCalculation {
  const rollUp: Partial<Record<'fees' | 'taxes', RollupLine[]>> = {};
  const charge = (taxOrFee: TaxAndFee, amountOn: number): number => {
    const amount =
      amountOn === 0
        ? 0
        : taxOrFee.calculation_type === 'FIXED'
          ? taxOrFee.rate
          : (amountOn * taxOrFee.rate) / 100;
    // TaxAndFeeRollupService::addToRollUp: one line per name, summed.
    const key = taxOrFee.type === 'TAX' ? 'taxes' : 'fees';
    rollUp[key] ??= [];
    const lines = rollUp[key];
    const line = lines.find((existing) => existing.name === taxOrFee.name);
    const value = amountOn === 0 ? 0 : amount * quantity;
    if (line) line.value += value;
    else lines.push({ name: taxOrFee.name, rate: taxOrFee.rate, type: taxOrFee.calculation_type, value });
    return amount;
  };
  // Laravel's Collection::sum: a left fold from 0, in the order the product's taxes and fees load.
  const fees = taxesAndFees
    .filter((taxOrFee) => taxOrFee.type === 'FEE')
    .reduce((sum, fee) => sum + charge(fee, price), 0);
  const taxes = taxesAndFees
    .filter((taxOrFee) => taxOrFee.type === 'TAX')
    .reduce((sum, tax) => sum + charge(tax, price + fees), 0);
  return {
    feeTotal: fees ? fees * quantity : 0,
    taxTotal: taxes ? taxes * quantity : 0,
    rollUp: Object.keys(rollUp).length > 0 ? rollUp : [],
  };
}
