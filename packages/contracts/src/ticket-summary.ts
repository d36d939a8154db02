import { z } from 'zod';

/**
 * Where an event's tickets stand for a buyer (docs/contract.md#ticket-summary):
 * - `on_sale`: at least one ticket can be bought now;
 * - `not_yet`: none can be bought yet, and one will be at `opens_at`;
 * - `sold_out`: nothing can be bought and at least one ticket is sold out;
 * - `ended`: nothing can be bought because every sales window has closed;
 * - `none`: the event offers no tickets.
 */
export const TicketSalesState = z.enum(['on_sale', 'not_yet', 'sold_out', 'ended', 'none']);
export type TicketSalesState = z.infer<typeof TicketSalesState>;

const Price = z.number().finite().nonnegative().max(1e12);

/**
 * What a buyer can learn of an event's tickets before opening its ticket shop: derived by the connector
 * from Hi.Events' public event, sent to tuvens-api, shown on Tuvens pages.
 */
export const TicketSummary = z
  .object({
    /** ISO 4217 code of the event's prices, upper case; null when Hi.Events names none. */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code in capitals')
      .nullable(),
    /** The lowest price of a ticket still offered (of every ticket when none is), in major units; null without tickets. */
    lowest_price: Price.nullable(),
    /** The highest such price, in major units; null without tickets. */
    highest_price: Price.nullable(),
    /**
     * Whether the prices include the taxes and fees Hi.Events adds (its `price_including_taxes_and_fees`);
     * false when they are the bare prices.
     */
    prices_include_taxes_and_fees: z.boolean(),
    /** Every ticket counted costs nothing. */
    free: z.boolean(),
    sales_state: TicketSalesState,
    /** When the first ticket goes on sale; set only with `not_yet`, and may be null there when Hi.Events names no time. */
    opens_at: z.iso.datetime({ offset: true }).nullable(),
    /**
     * Few tickets remain: only ever true while on sale and when Hi.Events shows the remaining quantity of
     * every ticket on sale, their sum being at most the connector's threshold.
     */
    few_left: z.boolean(),
  })
  .refine((summary) => (summary.lowest_price === null) === (summary.highest_price === null), {
    message: 'lowest_price and highest_price are both null or both set',
    path: ['highest_price'],
  })
  .refine((s) => s.lowest_price === null || s.highest_price === null || s.lowest_price <= s.highest_price, {
    message: 'must not be lower than lowest_price',
    path: ['highest_price'],
  })
  .refine((summary) => summary.opens_at === null || summary.sales_state === 'not_yet', {
    message: 'is set only when sales_state is not_yet',
    path: ['opens_at'],
  })
  .refine((summary) => !summary.few_left || summary.sales_state === 'on_sale', {
    message: 'is true only when sales_state is on_sale',
    path: ['few_left'],
  });
export type TicketSummary = z.infer<typeof TicketSummary>;

/** The summary of an event that offers no tickets. */
export const NO_TICKETS: TicketSummary = Object.freeze({
  currency: null,
  lowest_price: null,
  highest_price: null,
  prices_include_taxes_and_fees: false,
  free: false,
  sales_state: 'none',
  opens_at: null,
  few_left: false,
});

/** Whether two summaries say the same thing. */
export function sameTicketSummary(a: TicketSummary, b: TicketSummary): boolean {
  return (
    a.currency === b.currency &&
    a.lowest_price === b.lowest_price &&
    a.highest_price === b.highest_price &&
    a.prices_include_taxes_and_fees === b.prices_include_taxes_and_fees &&
    a.free === b.free &&
    a.sales_state === b.sales_state &&
    a.opens_at === b.opens_at &&
    a.few_left === b.few_left
  );
}

/** Path of the ticket summary webhook on tuvens-api (docs/contract.md#ticket-summary-webhook). */
export const TICKET_SUMMARY_WEBHOOK_PATH = '/api/webhooks/hi-events/ticket-summary-changed';

/**
 * The connector's report of an event's ticket summary. Signed, dated and idempotent by `id` exactly as
 * the status webhook is (docs/contract.md#webhook-signatures); the latest `occurred_at` wins.
 */
export const TicketSummaryWebhook = z.object({
  id: z.string().min(1).max(200),
  type: z.literal('event.ticket_summary_changed'),
  occurred_at: z.iso.datetime({ offset: true }),
  data: z.object({
    tuvens_event_id: z.number().int().positive().max(2_147_483_647),
    hi_events_event_id: z.number().int().positive().max(2_147_483_647),
    summary: TicketSummary,
  }),
});
export type TicketSummaryWebhook = z.infer<typeof TicketSummaryWebhook>;

/** The answer to a verified ticket summary webhook. */
export const TicketSummaryWebhookResponse = z.object({
  applied: z.boolean(),
  reason: z.enum(['duplicate', 'stale', 'unchanged']).optional(),
});
export type TicketSummaryWebhookResponse = z.infer<typeof TicketSummaryWebhookResponse>;

/**
 * The `data:` of the SSE message announcing a new ticket summary (docs/contract.md#sse-messages). Clients
 * that know only `ticketing_status_changed` skip it by its `type`.
 */
export const TicketSummaryChanged = z.object({
  type: z.literal('ticket_summary_changed'),
  eventId: z.number().int(),
  summary: TicketSummary,
  /** When the summary was observed at its source (ISO 8601). */
  timestamp: z.string(),
});
export type TicketSummaryChanged = z.infer<typeof TicketSummaryChanged>;
