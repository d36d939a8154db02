import { HI_EVENTS_INFINITE_QUANTITY } from '@tuvens/contracts';
import { invalid, notFound } from '../http/errors.ts';
import type { HiEvent, HiEventsStore, Product } from './store.ts';

/**
 * Ticket types as buyers see them, and orders. The emulator gives each product one price (Hi.Events' PAID
 * and FREE types; TIERED products with several prices are not emulated), whose id is the product's.
 */

/** A date as Hi.Events' domain objects carry it (the database's `Y-m-d H:i:s`, UTC). */
function databaseDate(date: Date | null | undefined): string | null {
  return date ? date.toISOString().slice(0, 19).replace('T', ' ') : null;
}

/** Left of a price: null when unlimited (ProductPriceDomainObject's `quantity_available`). */
function quantityLeft(product: Product): number | null {
  const initial = product.initial_quantity_available ?? null;
  return initial === null ? null : Math.max(0, initial - (product.quantity_sold ?? 0));
}

/** ProductPriceDomainObject::isSoldOut. */
function isSoldOut(product: Product): boolean {
  const left = quantityLeft(product);
  return left !== null && left <= 0;
}

const isBeforeSaleStart = (product: Product, now: Date) =>
  Boolean(product.sale_start_date && product.sale_start_date > now);
const isAfterSaleEnd = (product: Product, now: Date) =>
  Boolean(product.sale_end_date && product.sale_end_date < now);

/** ProductDomainObject::isAvailable (no hidden products in the emulator). */
function isAvailable(product: Product, now: Date): boolean {
  return !isSoldOut(product) && !isBeforeSaleStart(product, now) && !isAfterSaleEnd(product, now);
}

/** `ProductPriceResourcePublic` (backend/app/Resources/Product/ProductPriceResourcePublic.php). */
function publicPriceResource(product: Product, now: Date) {
  return {
    id: product.id,
    label: null,
    price: product.price,
    sale_start_date: null,
    sale_end_date: null,
    // No taxes or fees in the emulator: Currency::round(price + 0 + 0).
    price_including_taxes_and_fees: product.price,
    price_before_discount: null,
    is_discounted: false,
    tax_total: 0,
    fee_total: 0,
    is_before_sale_start_date: false,
    is_after_sale_end_date: false,
    is_available: isAvailable(product, now),
    is_sold_out: isSoldOut(product),
    ...(product.show_quantity_remaining ? { quantity_remaining: quantityLeft(product) } : {}),
  };
}

/** `ProductResourcePublic` (backend/app/Resources/Product/ProductResourcePublic.php). */
export function publicProductResource(product: Product, now: Date) {
  const left = quantityLeft(product);
  return {
    id: product.id,
    title: product.title,
    type: product.type,
    product_type: product.product_type,
    description: null,
    max_per_order: 100,
    min_per_order: 1,
    sale_start_date: databaseDate(product.sale_start_date),
    sale_end_date: databaseDate(product.sale_end_date),
    event_id: product.event_id,
    is_before_sale_start_date: isBeforeSaleStart(product, now),
    is_after_sale_end_date: isAfterSaleEnd(product, now),
    start_collapsed: false,
    // ProductDomainObject::getQuantityAvailable: Constants::INFINITE when a shown price is unlimited.
    ...(product.show_quantity_remaining ? { quantity_available: left ?? HI_EVENTS_INFINITE_QUANTITY } : {}),
    price: product.price,
    prices: [publicPriceResource(product, now)],
    is_available: isAvailable(product, now),
    is_sold_out: isSoldOut(product),
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
        ? { products: products.map((product) => publicProductResource(product, now)) }
        : {}),
    },
  ];
}

/** `ProductResource`, the payload of `product.*` webhooks (WebhookDispatchService::dispatchProductWebhook). */
export function productWebhookPayload(product: Product): Record<string, unknown> {
  return {
    id: product.id,
    title: product.title,
    type: product.type,
    product_type: product.product_type,
    event_id: product.event_id,
    price: product.price,
    prices: [
      {
        id: product.id,
        price: product.price,
        initial_quantity_available: product.initial_quantity_available ?? null,
        quantity_sold: product.quantity_sold ?? 0,
      },
    ],
    sale_start_date: databaseDate(product.sale_start_date),
    sale_end_date: databaseDate(product.sale_end_date),
    show_quantity_remaining: product.show_quantity_remaining ?? false,
    deleted_at: databaseDate(product.deleted_at),
  };
}

export interface Order {
  id: number;
  short_id: string;
  event_id: number;
  product_id: number;
  quantity: number;
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

/** `OrderResource` (backend/app/Resources/Order/OrderResource.php), the payload of `order.*` webhooks. */
function orderResource(order: Order) {
  return {
    id: order.id,
    short_id: order.short_id,
    total_before_additions: order.total_gross,
    total_gross: order.total_gross,
    total_tax: 0,
    total_fee: 0,
    total_refunded: 0,
    status: order.status,
    refund_status: null,
    payment_status: order.total_gross === 0 ? 'NO_PAYMENT_REQUIRED' : 'PAYMENT_RECEIVED',
    currency: order.currency,
    created_at: order.created_at.toISOString(),
    public_id: `o_${order.short_id}`,
    is_free_order: order.total_gross === 0,
    event_id: order.event_id,
    order_items: [
      { product_id: order.product_id, product_price_id: order.product_id, quantity: order.quantity },
    ],
  };
}

/**
 * Takes a completed order of `quantity` tickets of one ticket type, as a buyer finishing Hi.Events'
 * checkout would, and sends `order.created` (Hi.Events sends it when an order completes). Refused, as
 * Hi.Events' checkout refuses, for an event that is not live, a ticket not on sale, or more than is left.
 */
export function sellTickets(
  store: HiEventsStore,
  eventId: number,
  productId: number,
  quantity: number,
): Order {
  const event = store.publicEvent(eventId);
  const product = store.products.get(productId);
  if (!product || product.deleted_at || product.event_id !== eventId) throw notFound('Product');
  const now = store.now();
  if (isSoldOut(product)) throw invalid('products', 'This ticket is sold out');
  if (!isAvailable(product, now)) throw invalid('products', 'This ticket is not on sale');
  const left = quantityLeft(product);
  if (left !== null && quantity > left) throw invalid('products', `Only ${left} tickets are left`);
  product.quantity_sold = (product.quantity_sold ?? 0) + quantity;
  const orders = ordersOf(store);
  const order: Order = {
    id: orders.length + 1,
    short_id: `o${(orders.length + 1).toString(36).padStart(6, '0')}`,
    event_id: eventId,
    product_id: productId,
    quantity,
    total_gross: Math.round(product.price * quantity * 100) / 100,
    currency: event.currency,
    status: 'COMPLETED',
    created_at: now,
  };
  orders.push(order);
  store.announce('order.created', eventId, orderResource(order));
  return order;
}
