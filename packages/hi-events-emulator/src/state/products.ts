import { HI_EVENTS_INFINITE_QUANTITY } from '@tuvens/contracts';
import { invalid, notFound } from '../http/errors.ts';
import type { HiEvent, HiEventsStore, Product, ProductPrice } from './store.ts';
import {
  calculateTaxesAndFees,
  roundLikePhp,
  type TaxAndFee,
  type TaxAndFeeRollup,
  taxAndFeeResource,
} from './taxes-and-fees.ts';

/**
 * Ticket types as buyers see them, and orders. A product has one price (Hi.Events' PAID, FREE and DONATION
 * types, a donation's being the least a buyer gives) or several (TIERED), each with its own quantity and,
 * for tiers, its own label and sales window; taxes and fees of the account are attached to products. Paths are in Hi.Events' `backend/` (v1.8.0-beta).
 */

/** A date as Hi.Events' domain objects carry it (the database's `Y-m-d H:i:s`, UTC). */
function databaseDate(date: Date | null | undefined): string | null {
  return date ? date.toISOString().slice(0, 19).replace('T', ' ') : null;
}

const isTiered = (product: Product) => product.type === 'TIERED';

/**
 * Left of a price: null when unlimited. `ProductFilterService::processProduct` sets it from
 * `AvailableProductQuantitiesFetchService` (`GREATEST(initial - sold - reserved, 0)`, nothing reserved here).
 */
function quantityLeft(price: ProductPrice): number | null {
  return price.initial_quantity_available === null
    ? null
    : Math.max(0, price.initial_quantity_available - price.quantity_sold);
}

/** `ProductPriceDomainObject::isSoldOut`. */
function isPriceSoldOut(price: ProductPrice): boolean {
  const left = quantityLeft(price);
  if (left !== null && left <= 0) return true;
  return price.initial_quantity_available !== null && price.quantity_sold >= price.initial_quantity_available;
}

/** `ProductDomainObject::isSoldOut`: every price sold out (a product without prices is). */
function isProductSoldOut(product: Product): boolean {
  return product.prices.every(isPriceSoldOut);
}

/** `isBeforeSaleStartDate` / `isAfterSaleEndDate` of products and prices alike. */
const isBeforeSaleStart = (window: { sale_start_date: Date | null }, now: Date) =>
  window.sale_start_date !== null && window.sale_start_date > now;
const isAfterSaleEnd = (window: { sale_end_date: Date | null }, now: Date) =>
  window.sale_end_date !== null && window.sale_end_date < now;

/** `ProductDomainObject::isAvailable` (no hidden products or prices in the emulator). */
function isProductAvailable(product: Product, now: Date): boolean {
  if (isTiered(product) && product.prices.length === 0) return false;
  return !isProductSoldOut(product) && !isBeforeSaleStart(product, now) && !isAfterSaleEnd(product, now);
}

/**
 * `ProductFilterService::getPriceAvailability`: a tier is available by its own quantity and window; the
 * one price of any other product by the product's.
 */
function isPriceAvailable(product: Product, price: ProductPrice, now: Date): boolean {
  if (isTiered(product)) {
    return !isPriceSoldOut(price) && !isBeforeSaleStart(price, now) && !isAfterSaleEnd(price, now);
  }
  return isProductAvailable(product, now);
}

/** The taxes and fees attached to a product, in the order they were attached (deleted ones drop out). */
export function taxesAndFeesOf(store: HiEventsStore, product: Product): TaxAndFee[] {
  return product.tax_and_fee_ids
    .map((id) => store.taxesAndFees.get(id))
    .filter((taxOrFee): taxOrFee is TaxAndFee => taxOrFee !== undefined && taxOrFee.deleted_at === null);
}

/**
 * `ProductFilterService::processProductPrice` (app/Services/Domain/Product/ProductFilterService.php): a
 * price that is not free gets `TaxAndFeeCalculationService::calculateTaxAndFeesForProductPrice` for one
 * unit, each total rounded with `Currency::round`; a free one keeps no fee total (null) and a tax total of 0
 * (`ProductPriceDomainObject::getTaxTotal` answers 0.00 for null). No platform fee: Hi.Events adds one only
 * in SaaS mode, for an event passing it on to buyers (`OrderPlatformFeePassThroughService::isEnabled`); the
 * emulator acts as Hi.Events outside SaaS mode.
 */
export function priceTotals(taxesAndFees: readonly TaxAndFee[], price: ProductPrice) {
  if (price.price === 0) {
    return { taxTotal: 0, feeTotal: null, priceIncludingTaxesAndFees: 0 };
  }
  const calculated = calculateTaxesAndFees(taxesAndFees, price.price);
  const taxTotal = roundLikePhp(calculated.taxTotal);
  const feeTotal = roundLikePhp(calculated.feeTotal);
  // ProductPriceDomainObject::getPriceIncludingTaxAndServiceFee.
  return { taxTotal, feeTotal, priceIncludingTaxesAndFees: roundLikePhp(price.price + taxTotal + feeTotal) };
}

/** `ProductPriceResourcePublic` (app/Resources/Product/ProductPriceResourcePublic.php). */
function publicPriceResource(
  product: Product,
  price: ProductPrice,
  taxesAndFees: readonly TaxAndFee[],
  now: Date,
) {
  const totals = priceTotals(taxesAndFees, price);
  return {
    id: price.id,
    label: price.label,
    price: price.price,
    sale_start_date: databaseDate(price.sale_start_date),
    sale_end_date: databaseDate(price.sale_end_date),
    price_including_taxes_and_fees: totals.priceIncludingTaxesAndFees,
    price_before_discount: null,
    is_discounted: false,
    tax_total: totals.taxTotal,
    fee_total: totals.feeTotal,
    is_before_sale_start_date: isBeforeSaleStart(price, now),
    is_after_sale_end_date: isAfterSaleEnd(price, now),
    is_available: isPriceAvailable(product, price, now),
    is_sold_out: isPriceSoldOut(price),
    // Only when the organizer shows remaining quantities (the resource's SHOW_QUANTITY_AVAILABLE).
    ...(product.show_quantity_remaining ? { quantity_remaining: quantityLeft(price) } : {}),
  };
}

/**
 * `ProductDomainObject::getQuantityAvailable`: what is left of all its prices, or `Constants::INFINITE`
 * when one of them is unlimited (asked only when the product shows remaining quantities).
 */
function productQuantityAvailable(product: Product): number {
  if (product.prices.length === 0) return 0;
  if (product.prices.some((price) => quantityLeft(price) === null)) return HI_EVENTS_INFINITE_QUANTITY;
  return product.prices.reduce((sum, price) => sum + (quantityLeft(price) ?? 0), 0);
}

/** `ProductResourcePublic` (app/Resources/Product/ProductResourcePublic.php). */
export function publicProductResource(store: HiEventsStore, product: Product, now: Date) {
  const taxesAndFees = taxesAndFeesOf(store, product);
  return {
    id: product.id,
    title: product.title,
    type: product.type,
    product_type: product.product_type,
    description: null,
    // UpsertProductDTO's defaults when the request leaves them out.
    max_per_order: 100,
    min_per_order: 0,
    sale_start_date: databaseDate(product.sale_start_date),
    sale_end_date: databaseDate(product.sale_end_date),
    event_id: product.event_id,
    is_before_sale_start_date: isBeforeSaleStart(product, now),
    is_after_sale_end_date: isAfterSaleEnd(product, now),
    start_collapsed: false,
    ...(product.show_quantity_remaining ? { quantity_available: productQuantityAvailable(product) } : {}),
    // A tiered product has no single price (ProductDomainObject::getPrice refuses it).
    ...(isTiered(product) ? {} : { price: product.prices[0]?.price ?? null }),
    prices: product.prices.map((price) => publicPriceResource(product, price, taxesAndFees, now)),
    // The relation is always loaded for the public event, so `taxes` is there, empty or not.
    taxes: taxesAndFees.map(taxAndFeeResource),
    is_available: isProductAvailable(product, now),
    is_sold_out: isProductSoldOut(product),
    product_category_id: product.event_id,
    is_highlighted: false,
    highlight_message: null,
    waitlist_enabled: false,
  };
}

/**
 * `EventResourcePublic.product_categories` (`ProductCategoryResourcePublic`): Hi.Events makes a "Tickets"
 * category with every event (CreateEventHandler); `products` appear only when the category has some.
 */
export function publicProductCategories(store: HiEventsStore, event: HiEvent) {
  const products = store.productsOf(event.id);
  const now = store.now();
  return [
    {
      id: event.id,
      name: 'Tickets',
      description: null,
      is_hidden: false,
      order: 1,
      no_products_message: 'There are no tickets available for this event',
      ...(products.length > 0
        ? { products: products.map((product) => publicProductResource(store, product, now)) }
        : {}),
    },
  ];
}

/**
 * `ProductResource` (app/Resources/Product/ProductResource.php): the organizer's view of a product, and
 * the payload of `product.*` webhooks (WebhookDispatchService::dispatchProductWebhook). Outside the public
 * event nothing sets a price's availability or taxes, so `is_available` of a price is null and its
 * `price_including_taxes_and_fees` the bare price.
 */
export function productResource(store: HiEventsStore, product: Product) {
  const now = store.now();
  const initialQuantity = isTiered(product)
    ? product.prices.reduce((sum, price) => sum + (price.initial_quantity_available ?? 0), 0)
    : (product.prices[0]?.initial_quantity_available ?? null);
  return {
    id: product.id,
    title: product.title,
    type: product.type,
    product_type: product.product_type,
    order: 1,
    description: null,
    ...(isTiered(product) ? {} : { price: product.prices[0]?.price ?? null }),
    max_per_order: 100,
    min_per_order: 0,
    quantity_sold: product.prices.reduce((sum, price) => sum + price.quantity_sold, 0),
    sale_start_date: databaseDate(product.sale_start_date),
    sale_end_date: databaseDate(product.sale_end_date),
    event_id: product.event_id,
    initial_quantity_available: initialQuantity,
    hide_before_sale_start_date: false,
    hide_after_sale_end_date: false,
    start_collapsed: false,
    show_quantity_remaining: product.show_quantity_remaining,
    hide_when_sold_out: false,
    is_hidden_without_promo_code: false,
    is_hidden: false,
    is_before_sale_start_date: isBeforeSaleStart(product, now),
    is_after_sale_end_date: isAfterSaleEnd(product, now),
    is_available: isProductAvailable(product, now),
    is_sold_out: isProductSoldOut(product),
    taxes_and_fees: taxesAndFeesOf(store, product).map(taxAndFeeResource),
    // ProductPriceResource.
    prices: product.prices.map((price) => ({
      id: price.id,
      label: price.label,
      price: price.price,
      sale_start_date: databaseDate(price.sale_start_date),
      sale_end_date: databaseDate(price.sale_end_date),
      is_before_sale_start_date: isBeforeSaleStart(price, now),
      is_after_sale_end_date: isAfterSaleEnd(price, now),
      is_available: null,
      initial_quantity_available: price.initial_quantity_available,
      quantity_sold: price.quantity_sold,
      is_sold_out: isPriceSoldOut(price),
      is_hidden: false,
      off_sale_reason: null,
      price_including_taxes_and_fees: roundLikePhp(price.price),
    })),
    product_category_id: product.event_id,
    is_highlighted: false,
    highlight_message: null,
    waitlist_enabled: false,
  };
}

/** One line of an order (`OrderItemDomainObject`), with its amounts as Hi.Events stores them. */
export interface OrderItem {
  id: number;
  product_id: number;
  product_price_id: number;
  item_name: string;
  quantity: number;
  price: number;
  total_before_additions: number;
  total_tax: number;
  total_service_fee: number;
  total_gross: number;
  taxes_and_fees_rollup: TaxAndFeeRollup;
}

export interface Order {
  id: number;
  short_id: string;
  event_id: number;
  item: OrderItem;
  total_before_additions: number;
  total_tax: number;
  total_fee: number;
  total_gross: number;
  currency: string;
  status: 'COMPLETED' | 'CANCELLED';
  created_at: Date;
}

const ordersByStore = new WeakMap<HiEventsStore, Order[]>();

/** The orders taken so far. */
export function ordersOf(store: HiEventsStore): Order[] {
  let orders = ordersByStore.get(store);
  if (!orders) {
    orders = [];
    ordersByStore.set(store, orders);
  }
  return orders;
}

/** `OrderResource` (app/Resources/Order/OrderResource.php), the payload of `order.*` webhooks. */
function orderResource(order: Order) {
  const { item } = order;
  return {
    id: order.id,
    short_id: order.short_id,
    total_before_additions: order.total_before_additions,
    total_gross: order.total_gross,
    total_tax: order.total_tax,
    total_fee: order.total_fee,
    total_refunded: 0,
    status: order.status,
    refund_status: null,
    payment_status: order.total_gross === 0 ? 'NO_PAYMENT_REQUIRED' : 'PAYMENT_RECEIVED',
    currency: order.currency,
    created_at: order.created_at.toISOString(),
    public_id: `o_${order.short_id}`,
    is_free_order: order.total_gross === 0,
    // TaxAndFeeOrderRollupService::rollup over the order's one item.
    taxes_and_fees_rollup: item.taxes_and_fees_rollup,
    event_id: order.event_id,
    // OrderItemResource (app/Resources/Order/OrderItemResource.php).
    order_items: [
      {
        id: item.id,
        order_id: order.id,
        total_before_additions: item.total_before_additions,
        price: item.price,
        quantity: item.quantity,
        product_id: item.product_id,
        item_name: item.item_name,
        price_before_discount: null,
        taxes_and_fees_rollup: item.taxes_and_fees_rollup,
      },
    ],
  };
}

/** What a buyer picks: a ticket type, one of its prices (a tier), and how many. */
export interface TicketSelection {
  productId: number;
  /** Required for a tiered product; for a product with one price, that price when left out. */
  priceId?: number | undefined;
  /** What the buyer gives for each ticket of a DONATION product. */
  amount?: number | undefined;
  quantity: number;
}

/** `Currency::format` with Hi.Events' default locale, `en_US` (app/Helper/Currency.php). */
const formatCurrency = (amount: number, currency: string) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);

/**
 * `OrderItemProcessingService::calculateOrderItemData`
 * (app/Services/Domain/Order/OrderItemProcessingService.php): taxes and fees for the quantity, the gross
 * rounded with `Currency::round`; the amounts go to `numeric(14, 2)` columns, which round them to the cent.
 */
function orderItemFor(
  store: HiEventsStore,
  product: Product,
  price: ProductPrice,
  selection: TicketSelection,
  id: number,
): OrderItem {
  const { quantity } = selection;
  // ProductPriceService::determineProductPrice: a donation is the larger of the minimum and the gift.
  const unitPrice =
    product.type === 'FREE'
      ? 0
      : product.type === 'DONATION'
        ? Math.max(price.price, selection.amount ?? 0)
        : price.price;
  const itemTotal = unitPrice * quantity;
  const taxes = calculateTaxesAndFees(taxesAndFeesOf(store, product), unitPrice, quantity);
  return {
    id,
    product_id: product.id,
    product_price_id: price.id,
    // OrderItemProcessingService::getOrderItemLabel.
    item_name: isTiered(product) ? `${product.title} - ${price.label ?? ''}` : product.title,
    quantity,
    price: unitPrice,
    total_before_additions: roundLikePhp(itemTotal),
    total_tax: roundLikePhp(taxes.taxTotal),
    total_service_fee: roundLikePhp(taxes.feeTotal),
    total_gross: roundLikePhp(itemTotal + taxes.taxTotal + taxes.feeTotal),
    taxes_and_fees_rollup: taxes.rollUp,
  };
}

/** `Title - Label` as Hi.Events names a tier in its messages (validateProductPricesQuantity). */
const ticketName = (product: Product, price: ProductPrice) =>
  price.label ? `${product.title} - ${price.label}` : product.title;

/**
 * Takes a completed order of `quantity` tickets at one price of one ticket type, as a buyer finishing
 * Hi.Events' checkout would, and sends `order.created` (Hi.Events sends it when an order completes). The
 * checks and messages are `OrderCreateRequestValidationService`'s (an unknown price, more than a price has
 * left, a sold-out product); beyond them the emulator refuses what the checkout never offers: an event
 * that is not live, a price outside its sales window.
 */
export function sellTickets(store: HiEventsStore, eventId: number, selection: TicketSelection): Order {
  const event = store.publicEvent(eventId);
  const product = store.products.get(selection.productId);
  if (!product || product.deleted_at || product.event_id !== eventId) throw notFound('Product');
  const priceId =
    selection.priceId ??
    (!isTiered(product) && product.prices.length === 1 ? product.prices[0]!.id : undefined);
  if (priceId === undefined) throw invalid('price_id', 'Price_id must be specified');
  const price = product.prices.find((candidate) => candidate.id === priceId);
  if (!price) throw invalid('price_id', 'Invalid price ID');
  const left = quantityLeft(price);
  if (left !== null && selection.quantity > left) {
    throw invalid(
      'products',
      left === 0
        ? `The product ${ticketName(product, price)} is sold out`
        : `The maximum number of products available for ${ticketName(product, price)} is ${left}`,
    );
  }
  // OrderCreateRequestValidationService::validateProductTypeAndPrice (a gift left out counts as 0).
  if (product.type === 'DONATION' && (selection.amount ?? 0) < price.price) {
    throw invalid('price', `The minimum amount is ${formatCurrency(price.price, event.currency)}`);
  }
  if (isProductSoldOut(product)) throw invalid('products', `The product ${product.title} is sold out`);
  const now = store.now();
  if (!isPriceAvailable(product, price, now)) {
    throw invalid('products', `${ticketName(product, price)} is not on sale`);
  }
  price.quantity_sold += selection.quantity;
  const orders = ordersOf(store);
  const id = orders.length + 1;
  const item = orderItemFor(store, product, price, selection, id);
  const order: Order = {
    id,
    short_id: `o${id.toString(36).padStart(6, '0')}`,
    event_id: eventId,
    item,
    // OrderManagementService::updateOrderTotals: the sums of its items.
    total_before_additions: item.total_before_additions,
    total_tax: item.total_tax,
    total_fee: item.total_service_fee,
    total_gross: item.total_gross,
    currency: event.currency,
    status: 'COMPLETED',
    created_at: now,
  };
  orders.push(order);
  store.announce('order.created', eventId, orderResource(order));
  return order;
}
