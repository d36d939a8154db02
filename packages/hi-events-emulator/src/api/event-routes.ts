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
import { invalid } from '../http/errors.ts';
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
    .array(z.object({ price: z.coerce.number().min(0).max(1_000_000) }))
    .min(1)
    .max(1)
    .default([{ price: 0 }]),
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
    const input = parseWith(CreateProductRequest, request.body);
    const product = store.createProduct(actor, idParam(request, 'event_id'), {
      title: input.title,
      type: input.type,
      product_type: input.product_type,
      price: input.prices[0]!.price,
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

  // The public event: live, or any status for a signed-in member of its account (`GetEventPublicAction`).
  app.get('/api/public/events/:event_id', async (request) => {
    const token = requestToken(request);
    const viewer = token ? (await verifyToken(tokens, store, token))?.actor : undefined;
    return { data: publicEventResource(store, store.publicEvent(idParam(request, 'event_id'), viewer)) };
  });
}
