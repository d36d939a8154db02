import {
  HI_EVENTS_INFINITE_QUANTITY,
  type HiEventsPublicEvent,
  type HiEventsPublicPrice,
  type HiEventsPublicProduct,
  NO_TICKETS,
  parseHiEventsInstant,
  type TicketSalesState,
  type TicketSummary,
} from '@tuvens/contracts';

/** What the derivation needs besides the public event. */
export interface DeriveOptions {
  /** "Few left" when the tickets on sale have at most this many left in all (`FEW_TICKETS_LEFT_THRESHOLD`). */
  fewLeftThreshold: number;
  /** The moment the public event was read: a sales window's edge passed since is honoured. */
  now: Date;
}

/** One price of one ticket, as a buyer meets it. */
interface Offer {
  /** What the buyer pays, and whether taxes and fees are in it. */
  amount: number;
  inclusive: boolean;
  state: Exclude<TicketSalesState, 'none'>;
  opensAt: Date | null;
  /** Left of this offer, when Hi.Events shows it; undefined when hidden, null when unlimited. */
  remaining: number | null | undefined;
}

/**
 * The ticket summary of an event from its public resource (`GET /public/events/{id}`), a pure function of
 * it, the threshold and the clock. Only tickets count (`product_type` TICKET; a product without it is
 * taken as one, as before Hi.Events had other products); the public resource already leaves out hidden
 * products and prices. Prices are Hi.Events' `price_including_taxes_and_fees` where every offer carries
 * it, else the bare `price`.
 */
export function deriveTicketSummary(event: HiEventsPublicEvent, options: DeriveOptions): TicketSummary {
  const tickets = (event.product_categories ?? [])
    .flatMap((category) => category.products ?? [])
    .filter((product) => (product.product_type ?? 'TICKET') === 'TICKET');
  const offers = tickets.flatMap((product) => offersOf(product, options.now));
  if (offers.length === 0) return { ...NO_TICKETS };

  const inclusive = offers.every((offer) => offer.inclusive);
  const onSale = offers.filter((offer) => offer.state === 'on_sale');
  const upcoming = offers.filter((offer) => offer.state === 'not_yet');
  const stillOffered = offers.filter((offer) => offer.state === 'on_sale' || offer.state === 'not_yet');
  const priced = (stillOffered.length > 0 ? stillOffered : offers).map((offer) =>
    inclusive ? offer.amount : offer.bare,
  );
  const lowest = Math.min(...priced);
  const highest = Math.max(...priced);

  let salesState: TicketSalesState;
  if (onSale.length > 0) salesState = 'on_sale';
  else if (upcoming.length > 0) salesState = 'not_yet';
  else if (offers.some((offer) => offer.state === 'sold_out')) salesState = 'sold_out';
  else salesState = 'ended';

  const opensAt =
    salesState === 'not_yet'
      ? upcoming
          .map((offer) => offer.opensAt)
          .filter((at): at is Date => at !== null)
          .sort((a, b) => a.getTime() - b.getTime())[0]
      : undefined;

  const left = ticketsLeft(tickets, onSale);
  const fewLeft = salesState === 'on_sale' && typeof left === 'number' && left <= options.fewLeftThreshold;

  return {
    currency: normaliseCurrency(event.currency),
    lowest_price: roundMoney(lowest),
    highest_price: roundMoney(highest),
    prices_include_taxes_and_fees: inclusive,
    free: highest === 0,
    sales_state: salesState,
    opens_at: opensAt ? opensAt.toISOString() : null,
    few_left: fewLeft,
  };
}

type PricedOffer = Offer & { productId: number; bare: number };

function offersOf(product: HiEventsPublicProduct, now: Date): PricedOffer[] {
  const prices: HiEventsPublicPrice[] = product.prices ?? [];
  return prices.map((price) => {
    const bare = price.price;
    const withExtras = price.price_including_taxes_and_fees;
    const inclusive = withExtras !== undefined && withExtras !== null;
    const opensAt = latest(
      parseHiEventsInstant(product.sale_start_date),
      parseHiEventsInstant(price.sale_start_date),
    );
    const closesAt = earliest(
      parseHiEventsInstant(product.sale_end_date),
      parseHiEventsInstant(price.sale_end_date),
    );
    const remaining = remainingOf(price.quantity_remaining);
    return {
      productId: product.id,
      amount: inclusive ? withExtras : bare,
      bare,
      inclusive,
      state: stateOf(product, price, { opensAt, closesAt, now, remaining }),
      opensAt,
      remaining,
    };
  });
}

/**
 * How many tickets on sale are left in all, when Hi.Events shows it for every one; undefined when it hides
 * any, null when one is unlimited. A product's own `quantity_available` caps the sum of its prices'
 * (ProductDomainObject::getQuantityAvailable).
 */
function ticketsLeft(
  products: readonly HiEventsPublicProduct[],
  onSale: readonly PricedOffer[],
): number | null | undefined {
  let total = 0;
  for (const product of products) {
    const offers = onSale.filter((offer) => offer.productId === product.id);
    if (offers.length === 0) continue;
    let left = 0;
    for (const offer of offers) {
      if (offer.remaining === undefined) return undefined;
      if (offer.remaining === null) return null;
      left += offer.remaining;
    }
    const cap = remainingOf(product.quantity_available);
    if (typeof cap === 'number') left = Math.min(left, cap);
    total += left;
  }
  return total;
}

function stateOf(
  product: HiEventsPublicProduct,
  price: HiEventsPublicPrice,
  at: { opensAt: Date | null; closesAt: Date | null; now: Date; remaining: number | null | undefined },
): Offer['state'] {
  if (price.is_sold_out === true || product.is_sold_out === true || at.remaining === 0) return 'sold_out';
  // Hi.Events computes its flags when it answers; a window edge passed since then wins.
  const closed =
    at.closesAt !== null
      ? at.closesAt <= at.now
      : price.is_after_sale_end_date === true || product.is_after_sale_end_date === true;
  if (closed) return 'ended';
  const notOpen =
    at.opensAt !== null
      ? at.opensAt > at.now
      : price.is_before_sale_start_date === true || product.is_before_sale_start_date === true;
  if (notOpen) return 'not_yet';
  return 'on_sale';
}

/** A shown quantity: null when Hi.Events means "unlimited", never below 0. */
function remainingOf(quantity: number | null | undefined): number | null | undefined {
  if (quantity === undefined) return undefined;
  if (quantity === null || quantity >= HI_EVENTS_INFINITE_QUANTITY) return null;
  return Math.max(0, quantity);
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

function normaliseCurrency(currency: string | null | undefined): string | null {
  const code = currency?.trim().toUpperCase();
  return code && /^[A-Z]{3}$/.test(code) ? code : null;
}

/** Prices to the cent (Hi.Events rounds with `Currency::round`), and never negative. */
function roundMoney(amount: number): number {
  return Math.max(0, Math.round(amount * 100) / 100);
}
