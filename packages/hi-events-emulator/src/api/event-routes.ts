import {
  HiEventsCreateEventRequest,
  HiEventsCreateOrganizerRequest,
  HiEventsUpdateEventStatusRequest,
  HiEventsUpsertWebhookRequest,
} from '@tuvens/contracts';
import { z } from 'zod';
import { requestToken, requireActor, verifyToken } from '../auth/tokens.ts';
import { isAtLeast } from '../config.ts';
import { type Emulator, type EmulatorContext, idParam, parseWith } from '../http/context.ts';
import { EmulatorError, invalid } from '../http/errors.ts';
import { productResource, sellTickets } from '../state/products.ts';
import { taxAndFeeResource } from '../state/taxes-and-fees.ts';
import { eventResource, organizerResource, publicEventResource, webhookResource } from './resources.ts';

/**
 * Laravel's `numeric` (PHP's `is_numeric`): a number, or text that is one. Unlike `z.coerce.number()`, it
 * refuses null, booleans and empty text, which PHP does not take for numbers.
 */
const Numeric = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'must be a number')
    .transform(Number),
]);

/** A label as Laravel's TrimStrings and ConvertEmptyStringsToNull middleware leave it: blank is null. */
const OptionalText = z
  .string()
  .trim()
  .max(100)
  .nullable()
  .optional()
  .transform((text) => (text === '' ? null : text));

/** `RulesHelper::MONEY`: `gte:0`, `numeric`, `decimal:0,2`, `max:999999999999`. */
const Money = Numeric.pipe(z.number().min(0).max(999_999_999_999)).refine(
  (amount) => /^\d+(\.\d{1,2})?$/.test(String(amount)),
  'must have 0-2 decimal places',
);

/** A date that is strictly after another, when both are given (Laravel's `after:` rule). */
const isAfter = (later: Date | null | undefined, earlier: Date | null | undefined) =>
  !later || !earlier || later > earlier;

/**
 * `UpsertProductRequest` (backend/app/Http/Request/Product/UpsertProductRequest.php), the fields emulated.
 * `type` is PAID, FREE, DONATION (its price the least a buyer may give) or TIERED: REGISTRATION products
 * are refused. Only a TIERED product
 * may have more than one price (Hi.Events takes the first price of any other and ignores the rest); each
 * tier needs a label.
 */
export const CreateProductRequest = z
  .object({
    title: z.string().trim().min(1).max(255),
    type: z.enum(['PAID', 'FREE', 'DONATION', 'TIERED'], {
      message: 'must be PAID, FREE, DONATION or TIERED (REGISTRATION is not emulated)',
    }),
    product_type: z.enum(['TICKET', 'GENERAL']),
    product_category_id: z.coerce.number().int().positive(),
    prices: z
      .array(
        z.object({
          price: Money,
          label: OptionalText,
          initial_quantity_available: z.coerce.number().int().min(0).nullable().optional(),
          sale_start_date: z.coerce.date().nullable().optional(),
          sale_end_date: z.coerce.date().nullable().optional(),
        }),
      )
      .min(1)
      .max(50),
    show_quantity_remaining: z.boolean().optional(),
    sale_start_date: z.coerce.date().nullable().optional(),
    sale_end_date: z.coerce.date().nullable().optional(),
    tax_and_fee_ids: z.array(z.coerce.number().int().positive()).max(50).optional(),
  })
  .superRefine((product, context) => {
    const problem = (path: (string | number)[], message: string) =>
      context.addIssue({ code: 'custom', path, message });
    if (!isAfter(product.sale_end_date, product.sale_start_date)) {
      problem(['sale_end_date'], 'The sale end date must be after the sale start date.');
    }
    if (product.type !== 'TIERED' && product.prices.length > 1) {
      problem(['prices'], 'Only a TIERED product has more than one price');
    }
    product.prices.forEach((price, index) => {
      if (product.type === 'TIERED' && !price.label) {
        problem(['prices', index, 'label'], 'The label field is required when type is TIERED.');
      }
      if (!isAfter(price.sale_start_date, product.sale_start_date)) {
        problem(
          ['prices', index, 'sale_start_date'],
          'The sale start date must be after the product sale start date.',
        );
      }
      if (!isAfter(price.sale_end_date, price.sale_start_date)) {
        problem(['prices', index, 'sale_end_date'], 'The sale end date must be after the sale start date.');
      }
    });
  });

/**
 * `CreateTaxOrFeeRequest` (backend/app/Http/Request/TaxOrFee/CreateTaxOrFeeRequest.php). Hi.Events' rule
 * for `rate` is `numeric:gt:0`, which Laravel reads as plain `numeric`; the emulator holds it to what
 * was meant, above 0, and to what the `numeric(10, 3)` column keeps.
 */
export const CreateTaxOrFeeRequest = z.object({
  name: z.string().trim().min(1).max(255),
  calculation_type: z.enum(['PERCENTAGE', 'FIXED']),
  type: z.enum(['TAX', 'FEE']),
  rate: Numeric.pipe(z.number().gt(0).max(9_999_999.999)).refine(
    (rate) => /^\d+(\.\d{1,3})?$/.test(String(rate)),
    'must have at most 3 decimal places',
  ),
  is_active: z.boolean(),
  is_default: z.boolean(),
  description: z.string().max(10_000).nullable().optional(),
});

/**
 * The emulator's own stand-in for a buyer's completed checkout (not a Hi.Events endpoint). `price_id`
 * picks the price, as each line of Hi.Events' order request does; it may be left out for a product with
 * one price. `price` is what a buyer gives for a DONATION product (`products.*.quantities.*.price`,
 * `numeric|min:0`), ignored for any other.
 */
export const SellTicketsRequest = z.object({
  product_id: z.coerce.number().int().positive(),
  price_id: z.coerce.number().int().positive().optional(),
  price: z.coerce.number().min(0).max(999_999_999_999).optional(),
  quantity: z.coerce.number().int().min(1).max(100).default(1),
});

/** A collection answer: `{data: […], meta}` as a Laravel resource collection gives it. */
const collection = <T>(items: T[]) => ({
  data: items,
  meta: { total: items.length, per_page: items.length },
});

/** `RepositoryInterface::DEFAULT_PAGINATE_LIMIT` and `MAX_PAGINATE_LIMIT`. */
const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 100;

/** A page of a paginated collection as Laravel's paginator answers it: `{data, links, meta}`. */
function paginate<T>(items: T[], query: unknown) {
  const { per_page: perPageText, page: pageText } = (query ?? {}) as Record<string, string | undefined>;
  const perPage = Math.min(
    Math.max(Number.parseInt(perPageText ?? '', 10) || DEFAULT_PER_PAGE, 1),
    MAX_PER_PAGE,
  );
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const page = Math.max(Number.parseInt(pageText ?? '', 10) || 1, 1);
  const data = items.slice((page - 1) * perPage, page * perPage);
  return {
    data,
    links: {},
    meta: { current_page: page, last_page: lastPage, per_page: perPage, total: items.length },
  };
}

/** Organizers, events, their status, ticket types and webhooks (`backend/routes/api.php`). */
export function registerEventRoutes(app: Emulator, ctx: EmulatorContext): void {
  const { store, tokens } = ctx;
  const actorOf = async (request: Parameters<typeof requireActor>[2]) =>
    (await requireActor(tokens, store, request)).actor;

  // Organizers (`CreateOrganizerAction`, `GetOrganizersAction`, `GetOrganizerAction`, `GetOrganizerEventsAction`).
  app.post('/api/organizers', async (request, reply) => {
    const actor = await actorOf(request);
    const organizer = store.createOrganizer(actor, parseWith(HiEventsCreateOrganizerRequest, request.body));
    return reply.status(201).send({ data: organizerResource(organizer) });
  });
  app.get('/api/organizers', async (request) => {
    const actor = await actorOf(request);
    store.requireRole(actor);
    const organizers = [...store.organizers.values()].filter(
      (organizer) => organizer.account_id === actor.accountId,
    );
    return collection(organizers.map(organizerResource));
  });
  app.get('/api/organizers/:organizer_id', async (request) => {
    const actor = await actorOf(request);
    return { data: organizerResource(store.organizer(actor, idParam(request, 'organizer_id'))) };
  });
  app.get('/api/organizers/:organizer_id/events', async (request) => {
    const actor = await actorOf(request);
    const organizer = store.organizer(actor, idParam(request, 'organizer_id'));
    // `GetOrganizerEventsAction`: paginated, every status, soft-deleted events left out.
    const events = store
      .eventsOf(actor, organizer.id)
      .sort((a, b) => b.start_date.getTime() - a.start_date.getTime());
    return paginate(
      events.map((event) => eventResource(store, event)),
      request.query,
    );
  });

  // Events (`CreateEventAction` answers 200, not 201; `UpdateEventStatusAction`; `DeleteEventAction` 204).
  app.post('/api/events', async (request) => {
    const actor = await actorOf(request);
    const event = store.createEvent(actor, parseWith(HiEventsCreateEventRequest, request.body));
    return { data: eventResource(store, event) };
  });
  app.get('/api/events', async (request) => {
    const actor = await actorOf(request);
    return collection(store.eventsOf(actor).map((event) => eventResource(store, event)));
  });
  app.get('/api/events/:event_id', async (request) => {
    const actor = await actorOf(request);
    return { data: eventResource(store, store.event(actor, idParam(request, 'event_id'))) };
  });
  app.put('/api/events/:event_id/status', async (request) => {
    const actor = await actorOf(request);
    const id = idParam(request, 'event_id');
    const { status } = parseWith(HiEventsUpdateEventStatusRequest, request.body);
    return { data: eventResource(store, store.updateEventStatus(actor, id, status)) };
  });
  app.delete('/api/events/:event_id', async (request, reply) => {
    const actor = await actorOf(request);
    store.deleteEvent(actor, idParam(request, 'event_id'));
    return reply.status(204).send();
  });

  // Products: ticket types (`CreateProductAction`, `GetProductsAction`, `DeleteProductAction`).
  app.post('/api/events/:event_id/products', async (request, reply) => {
    const actor = await actorOf(request);
    const eventId = idParam(request, 'event_id');
    const input = parseWith(CreateProductRequest, request.body);
    store.event(actor, eventId);
    // GetProductCategoryService::getCategory: the event's one category (its id is the event's here).
    if (input.product_category_id !== eventId) {
      throw new EmulatorError(
        404,
        'not_found',
        `The product category with ID ${input.product_category_id} was not found.`,
      );
    }
    const product = store.createProduct(actor, eventId, input);
    return reply.status(201).send({ data: productResource(store, product) });
  });
  app.get('/api/events/:event_id/products', async (request) => {
    const actor = await actorOf(request);
    const event = store.event(actor, idParam(request, 'event_id'));
    return collection(store.productsOf(event.id).map((product) => productResource(store, product)));
  });
  app.delete('/api/events/:event_id/products/:product_id', async (request, reply) => {
    const actor = await actorOf(request);
    store.deleteProduct(actor, idParam(request, 'event_id'), idParam(request, 'product_id'));
    return reply.status(204).send();
  });

  // Taxes and fees of an account (`CreateTaxOrFeeAction` answers 200 with `TaxAndFeeResource`; `GetTaxOrFeeAction`).
  app.post('/api/accounts/:account_id/taxes-and-fees', async (request) => {
    const actor = await actorOf(request);
    const input = parseWith(CreateTaxOrFeeRequest, request.body);
    return { data: taxAndFeeResource(store.createTaxOrFee(actor, idParam(request, 'account_id'), input)) };
  });
  app.get('/api/accounts/:account_id/taxes-and-fees', async (request) => {
    const actor = await actorOf(request);
    return collection(store.taxesAndFeesOf(actor, idParam(request, 'account_id')).map(taxAndFeeResource));
  });

  // Webhooks: the secret is answered once, on creation (`CreateWebhookAction` answers 200 with
  // `WebhookResourceWithSecret`). The `event.*` types exist from v1.7.0-beta (`DomainEventType`); an
  // older release refuses them as unknown values of `event_types.*` (`UpsertWebhookRequest`).
  app.post('/api/events/:event_id/webhooks', async (request, reply) => {
    const actor = await actorOf(request);
    const input = parseWith(HiEventsUpsertWebhookRequest, request.body);
    if (!isAtLeast(ctx.version, 1, 7)) {
      const index = input.event_types.findIndex((type) => type.startsWith('event.'));
      if (index !== -1) {
        throw invalid(`event_types.${index}`, `The selected event_types.${index} is invalid.`);
      }
    }
    const webhook = store.createWebhook(actor, idParam(request, 'event_id'), input);
    return reply.status(200).send({ data: { ...webhookResource(webhook), secret: webhook.secret } });
  });
  app.get('/api/events/:event_id/webhooks', async (request) => {
    const actor = await actorOf(request);
    return collection(store.webhooksOf(actor, idParam(request, 'event_id')).map(webhookResource));
  });
  app.get('/api/events/:event_id/webhooks/:webhook_id', async (request) => {
    const actor = await actorOf(request);
    const webhook = store.webhook(actor, idParam(request, 'event_id'), idParam(request, 'webhook_id'));
    return { data: webhookResource(webhook) };
  });
  app.delete('/api/events/:event_id/webhooks/:webhook_id', async (request, reply) => {
    const actor = await actorOf(request);
    store.deleteWebhook(actor, idParam(request, 'event_id'), idParam(request, 'webhook_id'));
    return reply.status(204).send();
  });

  // Emulator only: a buyer completes an order (the checkout's outcome), so that demos and tests sell out.
  app.post('/api/_emulator/events/:event_id/orders', async (request, reply) => {
    const input = parseWith(SellTicketsRequest, request.body);
    const order = sellTickets(store, idParam(request, 'event_id'), {
      productId: input.product_id,
      priceId: input.price_id,
      amount: input.price,
      quantity: input.quantity,
    });
    return reply.status(201).send({
      data: {
        id: order.id,
        short_id: order.short_id,
        product_price_id: order.item.product_price_id,
        quantity: order.item.quantity,
        total_gross: order.total_gross,
      },
    });
  });

  // The public event: live, or any status for a signed-in member of its account (`GetEventPublicAction`).
  app.get('/api/public/events/:event_id', async (request) => {
    const token = requestToken(request);
    const viewer = token ? (await verifyToken(tokens, store, token))?.actor : undefined;
    return { data: publicEventResource(store, store.publicEvent(idParam(request, 'event_id'), viewer)) };
  });
}
