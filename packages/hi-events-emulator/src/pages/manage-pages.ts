import {
  HI_EVENTS_EVENT_PAGE_PATH,
  HI_EVENTS_TICKET_SETUP_PATH,
  HiEventsEventStatus,
} from '@tuvens/contracts';
import { z } from 'zod';
import { CreateProductRequest } from '../api/event-routes.ts';
import { requestToken, verifyToken } from '../auth/tokens.ts';
import {
  type Emulator,
  type EmulatorContext,
  type FastifyReply,
  type FastifyRequest,
  idParam,
} from '../http/context.ts';
import { EmulatorError } from '../http/errors.ts';
import { sellTickets } from '../state/products.ts';
import type { Actor, HiEvent } from '../state/store.ts';
import { escapeHtml, sendPage, sendProblemPage } from './html.ts';

const NOTICES = {
  published: 'The event is live: tickets are on sale.',
  paused: 'The event is back in draft: ticket sales are paused.',
  archived: 'The event is archived.',
  restored: 'The event is restored as a draft.',
  ticket_added: 'Ticket type added.',
  ticket_deleted: 'Ticket type deleted.',
  tickets_sold: 'Tickets sold.',
} as const;
type Notice = keyof typeof NOTICES;

const STATUS_NOTICE: Record<HiEventsEventStatus, Notice> = {
  LIVE: 'published',
  DRAFT: 'paused',
  ARCHIVED: 'archived',
};

const StatusForm = z.object({ status: HiEventsEventStatus });
const TicketForm = z.object({
  title: z.string(),
  price: z.string().default('0'),
  quantity: z.string().default(''),
  show_quantity_remaining: z.string().optional(),
});

/**
 * The organizer's ticket set-up of an event, at Hi.Events' own path for it (`/manage/event/{id}/products`):
 * add and delete ticket types, publish, pause (back to draft), archive and delete the event. Plain forms,
 * so it works without script; the page is reached signed in by the `token` cookie.
 */
export function registerManagePages(app: Emulator, ctx: EmulatorContext): void {
  const { store, tokens } = ctx;

  const signedIn = async (request: FastifyRequest): Promise<Actor | undefined> => {
    const token = requestToken(request);
    return token ? (await verifyToken(tokens, store, token))?.actor : undefined;
  };

  /** Form posts must come from the emulator's own pages (the cookie alone is no proof of intent). */
  const sameOrigin = (request: FastifyRequest) => {
    const origin = request.headers.origin;
    return origin === undefined || origin === new URL(ctx.publicUrl()).origin;
  };

  const withEvent = async (
    request: FastifyRequest,
    reply: FastifyReply,
    handle: (actor: Actor, event: HiEvent) => Promise<FastifyReply> | FastifyReply,
  ) => {
    const actor = await signedIn(request);
    if (!actor) {
      return sendProblemPage(
        reply,
        401,
        'You are not signed in',
        'Open ticketing from your event on Tuvens to sign in to Hi.Events again.',
      );
    }
    if (request.method === 'POST' && !sameOrigin(request)) {
      return sendProblemPage(reply, 403, 'Not allowed', 'This form was sent from another site.');
    }
    try {
      return await handle(actor, store.event(actor, idParam(request, 'event_id')));
    } catch (error) {
      if (!(error instanceof EmulatorError)) throw error;
      if (error.statusCode === 404) {
        return sendProblemPage(reply, 404, 'Event not found', 'This event does not exist or was deleted.');
      }
      if (error.statusCode === 403) {
        return sendProblemPage(reply, 403, 'Not allowed', 'Your Hi.Events account cannot manage this event.');
      }
      return sendProblemPage(reply, error.statusCode, 'That did not work', error.message);
    }
  };

  const backTo = (reply: FastifyReply, event: HiEvent, notice: Notice) =>
    reply.redirect(`${HI_EVENTS_TICKET_SETUP_PATH(event.id)}?notice=${notice}`, 303);

  app.get('/manage/event/:event_id/products', (request, reply) =>
    withEvent(request, reply, (_actor, event) => {
      const notice = (request.query as { notice?: string }).notice;
      return sendPage(reply, {
        title: `${event.title} · Tickets`,
        body: renderSetup(ctx, event, notice && notice in NOTICES ? NOTICES[notice as Notice] : undefined),
      });
    }),
  );

  app.post('/manage/event/:event_id/status', (request, reply) =>
    withEvent(request, reply, (actor, event) => {
      const form = StatusForm.safeParse(request.body);
      if (!form.success) {
        return sendProblemPage(reply, 400, 'Unknown status', 'Choose publish, pause or archive.');
      }
      const restoring = event.status === 'ARCHIVED' && form.data.status === 'DRAFT';
      store.updateEventStatus(actor, event.id, form.data.status);
      return backTo(reply, event, restoring ? 'restored' : STATUS_NOTICE[form.data.status]);
    }),
  );

  app.post('/manage/event/:event_id/products', (request, reply) =>
    withEvent(request, reply, (actor, event) => {
      const form = TicketForm.safeParse(request.body);
      const price = Number(form.data?.price ?? Number.NaN);
      const input = CreateProductRequest.safeParse({
        title: form.data?.title,
        type: price === 0 ? 'FREE' : 'PAID',
        prices: [
          { price, initial_quantity_available: form.data?.quantity ? Number(form.data.quantity) : null },
        ],
        show_quantity_remaining: form.data?.show_quantity_remaining === 'on',
      });
      if (!input.success) {
        return sendProblemPage(
          reply,
          422,
          'Check the ticket type',
          'Give the ticket type a name and a price of 0 or more.',
        );
      }
      store.createProduct(actor, event.id, {
        title: input.data.title,
        type: input.data.type,
        product_type: input.data.product_type,
        price: input.data.prices[0]!.price,
        initial_quantity_available: input.data.prices[0]!.initial_quantity_available ?? null,
        show_quantity_remaining: input.data.show_quantity_remaining,
      });
      return backTo(reply, event, 'ticket_added');
    }),
  );

  // Emulator only: sell tickets as if buyers had checked out, to watch availability change on Tuvens.
  app.post('/manage/event/:event_id/products/:product_id/sell', (request, reply) =>
    withEvent(request, reply, (_actor, event) => {
      const quantity = Number((request.body as { quantity?: string } | undefined)?.quantity ?? 1);
      try {
        sellTickets(
          store,
          event.id,
          idParam(request, 'product_id'),
          Number.isInteger(quantity) ? quantity : 1,
        );
      } catch (error) {
        if (!(error instanceof EmulatorError) || error.statusCode === 404) throw error;
        return sendProblemPage(reply, 422, 'Cannot sell', error.message.replace(/^products: /, ''));
      }
      return backTo(reply, event, 'tickets_sold');
    }),
  );

  app.post('/manage/event/:event_id/products/:product_id/delete', (request, reply) =>
    withEvent(request, reply, (actor, event) => {
      store.deleteProduct(actor, event.id, idParam(request, 'product_id'));
      return backTo(reply, event, 'ticket_deleted');
    }),
  );

  app.post('/manage/event/:event_id/delete', (request, reply) =>
    withEvent(request, reply, (actor, event) => {
      store.deleteEvent(actor, event.id);
      return sendPage(reply, {
        title: 'Event deleted',
        body: `<main><section><h1>Event deleted</h1><p>“${escapeHtml(event.title)}” is deleted from Hi.Events.</p></section></main>`,
      });
    }),
  );
}

function renderSetup(ctx: EmulatorContext, event: HiEvent, notice: string | undefined): string {
  const { store } = ctx;
  const products = store.productsOf(event.id);
  const lifecycle = store.lifecycleOf(event);
  const setup = HI_EVENTS_TICKET_SETUP_PATH(event.id);
  const statusButton = (status: HiEventsEventStatus, label: string, style = '') =>
    `<form class="inline" method="post" action="/manage/event/${event.id}/status"><input type="hidden" name="status" value="${status}"><button type="submit"${style}>${label}</button></form>`;
  const actions = {
    DRAFT: [statusButton('LIVE', 'Publish'), statusButton('ARCHIVED', 'Archive', ' class="secondary"')],
    LIVE: [
      statusButton('DRAFT', 'Pause sales (back to draft)', ' class="secondary"'),
      statusButton('ARCHIVED', 'Archive', ' class="secondary"'),
    ],
    ARCHIVED: [statusButton('DRAFT', 'Restore as draft', ' class="secondary"')],
  }[event.status];
  const rows = products
    .map(
      (
        product,
      ) => `<tr><td>${escapeHtml(product.title)}</td><td>${product.price === 0 ? 'Free' : `${product.price.toFixed(2)} ${escapeHtml(event.currency)}`}</td>
<td data-testid="sold-${product.id}">${product.quantity_sold ?? 0} sold${product.initial_quantity_available == null ? '' : ` of ${product.initial_quantity_available}`}</td>
<td>${event.status === 'LIVE' ? `<form class="inline" method="post" action="${setup}/${product.id}/sell"><label>Sell <input name="quantity" type="number" min="1" max="100" value="1" aria-label="Tickets to sell of ${escapeHtml(product.title)}"></label><button type="submit">Sell</button></form>` : ''}
<form class="inline" method="post" action="${setup}/${product.id}/delete"><button type="submit" class="secondary">Delete</button></form></td></tr>`,
    )
    .join('\n');
  const publicPath = HI_EVENTS_EVENT_PAGE_PATH(event.id, store.slugOf(event));
  return `<main>
${notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : ''}
<section>
<h1>${escapeHtml(event.title)}</h1>
<p><span class="badge" data-testid="status">${event.status}</span> <span class="badge" data-testid="lifecycle">${lifecycle}</span></p>
<p>${escapeHtml(event.start_date.toUTCString())}${event.end_date ? ` – ${escapeHtml(event.end_date.toUTCString())}` : ''}</p>
${event.status === 'LIVE' ? `<p><a href="${publicPath}">Public event page</a></p>` : ''}
<div class="actions">${actions.join('')}</div>
</section>
<section>
<h2>Ticket types</h2>
${products.length ? `<table><thead><tr><th>Name</th><th>Price</th><th>Sold</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : '<p>No ticket types yet. Add one below, then publish the event.</p>'}
<form method="post" action="${setup}">
<label>Name <input name="title" required maxlength="255"></label>
<label>Price <input name="price" type="number" min="0" step="0.01" value="0" required></label>
<label>Quantity <input name="quantity" type="number" min="0" step="1" placeholder="unlimited"></label>
<label><input name="show_quantity_remaining" type="checkbox"> Show buyers how many are left</label>
<button type="submit">Add ticket type</button>
</form>
</section>
<section>
<h2>Danger zone</h2>
<form method="post" action="/manage/event/${event.id}/delete"><button type="submit" class="danger">Delete event</button></form>
</section>
</main>`;
}
