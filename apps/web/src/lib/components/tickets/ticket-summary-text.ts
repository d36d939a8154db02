import type { TicketSummary } from '@tuvens/contracts';

/** What a page says of an event's tickets: a price line and an availability line, either may be absent. */
export interface TicketSummaryText {
  price: string | undefined;
  availability: string | undefined;
  /** For styling and tests: the sales state as a page shows it (a window passed since counts as open). */
  state: TicketSummary['sales_state'];
}

/**
 * One formatter per set of options, built on first use. Building an `Intl` formatter (as
 * `toLocaleString` with options and `new Intl.NumberFormat` do on every call) costs far more than
 * formatting with one: on the server it was a tenth of the CPU of an event page
 * (`npm run bench -- --cpu-prof page-views`).
 */
function memoizedFormatter<F>(build: (key: string) => F): (key: string) => F {
  const built = new Map<string, F>();
  return (key) => {
    let found = built.get(key);
    if (!found) {
      found = build(key);
      built.set(key, found);
    }
    return found;
  };
}

const moneyFormat = memoizedFormatter((key) => {
  const [currency, whole] = key.split(' ');
  return new Intl.NumberFormat('en-GB', {
    style: 'currency',
    currency,
    currencyDisplay: 'narrowSymbol',
    minimumFractionDigits: whole === 'whole' ? 0 : 2,
    maximumFractionDigits: 2,
  });
});

function money(amount: number, currency: string | null): string {
  if (!currency) return amount.toFixed(2);
  return moneyFormat(`${currency} ${Number.isInteger(amount) ? 'whole' : 'cents'}`).format(amount);
}

// '' for the reader's own time zone.
const opensAtFormat = memoizedFormatter(
  (timeZone) =>
    new Intl.DateTimeFormat('en-GB', {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: timeZone || undefined,
    }),
);

/**
 * "Free", "From €25" or "€25"; "Sales open Fri 12 Dec, 10:00", "Few tickets left", "Sold out" or
 * "Sales ended" (docs/contract.md#ticket-summary). `timeZone` undefined is the reader's own.
 */
export function describeTicketSummary(
  summary: TicketSummary,
  options: { now: Date; timeZone?: string | undefined },
): TicketSummaryText {
  // A page open past the opening moment shows the sale as open before any new summary arrives.
  const opened =
    summary.sales_state === 'not_yet' &&
    summary.opens_at !== null &&
    Date.parse(summary.opens_at) <= options.now.getTime();
  const state = opened ? 'on_sale' : summary.sales_state;

  let price: string | undefined;
  if (summary.free) price = 'Free';
  else if (summary.lowest_price !== null && summary.highest_price !== null) {
    const lowest = money(summary.lowest_price, summary.currency);
    price = summary.lowest_price === summary.highest_price ? lowest : `From ${lowest}`;
  }

  let availability: string | undefined;
  switch (state) {
    case 'on_sale':
      availability = summary.few_left ? 'Few tickets left' : undefined;
      break;
    case 'not_yet':
      availability = summary.opens_at
        ? `Sales open ${opensAtFormat(options.timeZone ?? '')
            .format(new Date(summary.opens_at))
            .replace(' at ', ', ')}`
        : 'Sales open soon';
      break;
    case 'sold_out':
      availability = 'Sold out';
      break;
    case 'ended':
      availability = 'Sales ended';
      break;
    case 'none':
      price = undefined;
      break;
  }
  return { price, availability, state };
}

/** schema.org availability of an `AggregateOffer` for a sales state. */
export function schemaAvailability(state: TicketSummary['sales_state']) {
  switch (state) {
    case 'on_sale':
      return 'https://schema.org/InStock' as const;
    case 'not_yet':
      return 'https://schema.org/PreOrder' as const;
    case 'sold_out':
      return 'https://schema.org/SoldOut' as const;
    default:
      return 'https://schema.org/Discontinued' as const;
  }
}
