import {
  HiEventsCreateEventRequest,
  HiEventsCreateOrganizerRequest,
  HiEventsUpdateEventStatusRequest,
  HiEventsUpsertWebhookRequest,
} from '@tuvens/contracts';
import { z } from 'zod';
import { requireActor } from '../auth/tokens.ts';
import { type Emulator, type EmulatorContext, idParam, parseWith } from '../http/context.ts';
import { sellTickets } from '../state/products.ts';
import {
  eventResource,
  organizerResource,
  productResource,
  publicEventResource,
  webhookResource,
} from './resources.ts';

/** The subset of `UpsertProductRequest` the ticket set-up uses: a ticket type with one price. */
export const CreateProductRequest = z.object({
  title: z.string().trim().min(1).max(255),
  type: z.enum(['PAID', 'FREE']).default('PAID'),
  product_type: z.enum(['TICKET', 'GENERAL']).default('TICKET'),
  prices: z
    .array(
      z.object({
        price: z.coerce.number().min(0).max(1_000_000),
        initial_quantity_available: z.coerce.number().int().min(0).nullable().optional(),
      }),
    )
    .min(1)
    .max(1)
    .default([{ price: 0 }]),
  // UpsertProductRequest: a quantity, whether buyers see what is left, and a sales window.
  show_quantity_remaining: z.boolean().optional(),
  sale_start_date: z.coerce.date().nullable().optional(),
  sale_end_date: z.coerce.date().nullable().optional(),
});

/** The emulator's own stand-in for a buyer's completed checkout (not a Hi.Events endpoint). */
export const SellTicketsRequest = z.object({
  product_id: z.coerce.number().int().positive(),
  quantity: z.coerce.number().int().min(1).max(100).default(1),
});

/** A collection answer: `{data: […], meta}` as a Laravel resource collection gives it. */
const collection = <T>(items: T[]) => ({
  data: items,
  meta: { total: items.length, per_page: items.length },
});

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
    return collection(store.eventsOf(actor, organizer.id).map((event) => eventResource(store, event)));
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
    const input = parseWith(CreateProductRequest, request.body);
    const product = store.createProduct(actor, idParam(request, 'event_id'), {
      title: input.title,
      type: input.type,
      product_type: input.product_type,
      price: input.prices[0]!.price,
      initial_quantity_available: input.prices[0]!.initial_quantity_available ?? null,
      show_quantity_remaining: input.show_quantity_remaining,
      sale_start_date: input.sale_start_date ?? null,
      sale_end_date: input.sale_end_date ?? null,
    });
    return reply.status(201).send({ data: productResource(product) });
  });
  app.get('/api/events/:event_id/products', async (request) => {
    const actor = await actorOf(request);
    const event = store.event(actor, idParam(request, 'event_id'));
    return collection(store.productsOf(event.id).map(productResource));
  });
  app.delete('/api/events/:event_id/products/:product_id', async (request, reply) => {
    const actor = await actorOf(request);
    store.deleteProduct(actor, idParam(request, 'event_id'), idParam(request, 'product_id'));
    return reply.status(204).send();
  });

  // Webhooks: the secret is answered once, on creation (`CreateWebhookAction` → `WebhookResourceWithSecret`).
  app.post('/api/events/:event_id/webhooks', async (request, reply) => {
    const actor = await actorOf(request);
    const webhook = store.createWebhook(
      actor,
      idParam(request, 'event_id'),
      parseWith(HiEventsUpsertWebhookRequest, request.body),
    );
    return reply.status(201).send({ data: { ...webhookResource(webhook), secret: webhook.secret } });
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
    const order = sellTickets(store, idParam(request, 'event_id'), input.product_id, input.quantity);
    return reply
      .status(201)
      .send({ data: { id: order.id, short_id: order.short_id, quantity: order.quantity } });
  });

  // The public event, live only (`GetEventPublicAction`).
  app.get('/api/public/events/:event_id', async (request) => {
    return { data: publicEventResource(store, store.publicEvent(idParam(request, 'event_id'))) };
  });
}
