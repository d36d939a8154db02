import { z } from 'zod';
import { HiEventsEventStatus, HiEventsLifecycleStatus } from './ticketing.ts';

/** Path of Hi.Events' public event: no sign-in, 404 unless the event is live. */
export const HI_EVENTS_PUBLIC_EVENT_PATH = (eventId: number) => `/public/events/${eventId}`;

/**
 * Hi.Events' "unlimited" quantity (`Constants::INFINITE`, backend/app/Constants.php): a product shows it as
 * `quantity_available` when it shows quantities and one of its prices has no limit.
 */
export const HI_EVENTS_INFINITE_QUANTITY = 999_999_999;

/**
 * A date as Hi.Events' public resources carry it: the database's `Y-m-d H:i:s` in UTC, or an ISO 8601
 * instant when Laravel serialises a cast attribute.
 */
const HiEventsInstant = z.string().min(1).max(64);

/** `ProductPriceResourcePublic` (backend/app/Resources/Product/ProductPriceResourcePublic.php), the fields read. */
export const HiEventsPublicPrice = z.object({
  id: z.number().int(),
  label: z.string().nullable().optional(),
  price: z.number(),
  price_including_taxes_and_fees: z.number().nullable().optional(),
  sale_start_date: HiEventsInstant.nullable().optional(),
  sale_end_date: HiEventsInstant.nullable().optional(),
  is_before_sale_start_date: z.boolean().optional(),
  is_after_sale_end_date: z.boolean().optional(),
  is_available: z.boolean().nullable().optional(),
  is_sold_out: z.boolean().optional(),
  /** Present only when the organizer chose to show remaining quantities. */
  quantity_remaining: z.number().int().nullable().optional(),
});
export type HiEventsPublicPrice = z.infer<typeof HiEventsPublicPrice>;

/** `ProductPriceType` (backend/app/DomainObjects/Enums/ProductPriceType.php). */
export const HiEventsProductPriceType = z.enum(['PAID', 'FREE', 'DONATION', 'TIERED', 'REGISTRATION']);
export type HiEventsProductPriceType = z.infer<typeof HiEventsProductPriceType>;

/** `ProductType` (backend/app/DomainObjects/Enums/ProductType.php): a ticket, or anything else sold. */
export const HiEventsProductType = z.enum(['TICKET', 'GENERAL']);
export type HiEventsProductType = z.infer<typeof HiEventsProductType>;

/** `ProductResourcePublic` (backend/app/Resources/Product/ProductResourcePublic.php), the fields read. */
export const HiEventsPublicProduct = z.object({
  id: z.number().int(),
  title: z.string(),
  type: HiEventsProductPriceType,
  product_type: HiEventsProductType.optional(),
  sale_start_date: HiEventsInstant.nullable().optional(),
  sale_end_date: HiEventsInstant.nullable().optional(),
  is_before_sale_start_date: z.boolean().optional(),
  is_after_sale_end_date: z.boolean().optional(),
  /** Present only when the organizer chose to show remaining quantities. */
  quantity_available: z.number().int().nullable().optional(),
  /** Absent for tiered products. */
  price: z.number().nullable().optional(),
  /** Absent when the product has no visible price. */
  prices: z.array(HiEventsPublicPrice).optional(),
  is_available: z.boolean().optional(),
  is_sold_out: z.boolean().optional(),
});
export type HiEventsPublicProduct = z.infer<typeof HiEventsPublicProduct>;

/** `ProductCategoryResourcePublic`: `products` only when the category has some. */
export const HiEventsPublicProductCategory = z.object({
  id: z.number().int(),
  name: z.string().nullable().optional(),
  is_hidden: z.boolean().optional(),
  products: z.array(HiEventsPublicProduct).optional(),
});
export type HiEventsPublicProductCategory = z.infer<typeof HiEventsPublicProductCategory>;

/** `EventResourcePublic` (backend/app/Resources/Event/EventResourcePublic.php), the fields read. */
export const HiEventsPublicEvent = z.object({
  id: z.number().int().positive(),
  title: z.string(),
  currency: z.string().nullable().optional(),
  status: HiEventsEventStatus.optional(),
  lifecycle_status: HiEventsLifecycleStatus.optional(),
  start_date: HiEventsInstant.nullable().optional(),
  end_date: HiEventsInstant.nullable().optional(),
  /** Absent when the event has no (visible) category. */
  product_categories: z.array(HiEventsPublicProductCategory).optional(),
});
export type HiEventsPublicEvent = z.infer<typeof HiEventsPublicEvent>;

/** Reads a Hi.Events date as an instant: `Y-m-d H:i:s` is UTC; null when it is no date. */
export function parseHiEventsInstant(value: string | null | undefined): Date | null {
  if (!value) return null;
  const plain = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.exec(value);
  const date = new Date(plain ? `${plain[1]}T${plain[2]}Z` : value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The webhook types of Hi.Events that can change what buyers see of an event's tickets
 * (`DomainEventType`, backend/app/Services/Infrastructure/DomainEvents/Enums/DomainEventType.php).
 */
export const HiEventsTicketWebhookType = z.enum([
  'product.created',
  'product.updated',
  'product.deleted',
  'order.created',
  'order.updated',
  'order.marked_as_paid',
  'order.refunded',
  'order.cancelled',
]);
export type HiEventsTicketWebhookType = z.infer<typeof HiEventsTicketWebhookType>;
