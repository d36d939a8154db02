import {
  HI_EVENTS_EVENT_PAGE_PATH,
  HI_EVENTS_TICKET_SETUP_PATH,
  HiEventsEventStatus,
} from '@tuvens/contracts';
import { z } from 'zod';
import { CreateProductRequest, CreateTaxOrFeeRequest } from '../api/event-routes.ts';
import { requestToken, verifyToken } from '../auth/tokens.ts';
import {
  type Emulator,
  type EmulatorContext,
  type FastifyReply,
  type FastifyRequest,
  idParam,
} from '../http/context.ts';
import { EmulatorError } from '../http/errors.ts';
import { priceTotals, sellTickets, taxesAndFeesOf } from '../state/products.ts';
import type { Actor, HiEvent, HiEventsStore, Product } from '../state/store.ts';
import type { TaxAndFee } from '../state/taxes-and-fees.ts';
import { escapeHtml, sendPage, sendProblemPage } from './html.ts';

const NOTICES = {
  published: 'The event is live: tickets are on sale.',
  paused: 'The event is back in draft: ticket sales are paused.',
  archived: 'The event is archived.',
  restored: 'The event is restored as a draft.',
  ticket_added: 'Ticket type added.',
  tax_added: 'Tax or fee added.',
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

/** Rows of price tiers the set-up form offers; blank rows are left out. */
const TIER_ROWS = 4;

/** A form field: text, or several values when checkboxes share a name. */
const field = z.union([z.string(), z.array(z.string())]).optional();
const FormFields = z.record(z.string(), field);

const text = (fields: z.infer<typeof FormFields>, name: string): string => {
  const value = fields[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
};
const list = (fields: z.infer<typeof FormFields>, name: string): string[] => {
  const value = fields[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/**
 * A `datetime-local` value, which a person enters in the event's timezone, as an instant: Hi.Events
 * converts sale dates from the event's timezone to UTC (`DateHelper::convertToUTC` in CreateProductService).
 */
function eventLocalTime(value: string, timeZone: string): Date | null | undefined {
  if (value === '') return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  const parts: Record<string, number> = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(asUtc))
      .map((part) => [part.type, Number(part.value)]),
  );
  const at = (type: string) => parts[type] ?? 0;
  const offset = Date.UTC(at('year'), at('month') - 1, at('day'), at('hour'), at('minute')) - asUtc;
  return new Date(asUtc - offset);
}

/**
 * The ticket type a set-up form describes, as the API request it stands for (`UpsertProductRequest`):
 * a single price (free when 0), or tiers from the rows filled in; the taxes and fees ticked.
 */
function productFromForm(fields: z.infer<typeof FormFields>, event: HiEvent) {
  const quantity = (value: string) => (value === '' ? null : Number(value));
  const base = {
    title: text(fields, 'title'),
    product_type: 'TICKET',
    product_category_id: event.id,
    show_quantity_remaining: text(fields, 'show_quantity_remaining') === 'on',
    tax_and_fee_ids: list(fields, 'tax_and_fee_ids').map(Number),
  };
  if (text(fields, 'pricing') !== 'tiered') {
    const price = Number(text(fields, 'price') || '0');
    return CreateProductRequest.safeParse({
      ...base,
      type: price === 0 ? 'FREE' : 'PAID',
      prices: [{ price, initial_quantity_available: quantity(text(fields, 'quantity')) }],
    });
  }
  const prices = [];
  for (let row = 1; row <= TIER_ROWS; row += 1) {
    const label = text(fields, `tier_${row}_label`);
    const price = text(fields, `tier_${row}_price`);
    if (label === '' && price === '') continue;
    prices.push({
      label,
      price: price === '' ? Number.NaN : Number(price),
      initial_quantity_available: quantity(text(fields, `tier_${row}_quantity`)),
      sale_start_date: eventLocalTime(text(fields, `tier_${row}_sale_start`), event.timezone),
      sale_end_date: eventLocalTime(text(fields, `tier_${row}_sale_end`), event.timezone),
    });
  }
  return CreateProductRequest.safeParse({ ...base, type: 'TIERED', prices });
}

/** What went wrong with a form, in words: the field as the form names it, and the problem. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const [first, index, name] = issue.path;
  if (first === 'prices' && typeof index === 'number') {
    return `Price tier ${index + 1}${name ? ` (${String(name).replaceAll('_', ' ')})` : ''}: ${issue.message}`;
  }
  return `${String(first ?? 'Form').replaceAll('_', ' ')}: ${issue.message}`;
}

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
    withEvent(request, reply, (actor, event) => {
      const notice = (request.query as { notice?: string }).notice;
      return sendPage(reply, {
        title: `${event.title} · Tickets`,
        body: renderSetup(
          ctx,
          actor,
          event,
          notice && notice in NOTICES ? NOTICES[notice as Notice] : undefined,
        ),
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
      const fields = FormFields.safeParse(request.body ?? {});
      const input = fields.success ? productFromForm(fields.data, event) : undefined;
      if (!input?.success) {
        const problems = input ? input.error.issues.map(describeIssue) : ['The form could not be read.'];
        return sendProblemPage(
          reply,
          422,
          'Check the ticket type',
          `Give the ticket type a name and each price 0 or more (at most 2 decimals); each tier needs a label. ${problems.join(' ')}`,
        );
      }
      store.createProduct(actor, event.id, input.data);
      return backTo(reply, event, 'ticket_added');
    }),
  );

  app.post('/manage/event/:event_id/taxes-and-fees', (request, reply) =>
    withEvent(request, reply, (actor, event) => {
      const fields = FormFields.safeParse(request.body ?? {});
      const input = CreateTaxOrFeeRequest.safeParse({
        name: fields.success ? text(fields.data, 'name') : '',
        type: fields.success ? text(fields.data, 'type') : '',
        calculation_type: fields.success ? text(fields.data, 'calculation_type') : '',
        rate: fields.success ? Number(text(fields.data, 'rate')) : Number.NaN,
        is_active: true,
        is_default: false,
      });
      if (!input.success) {
        return sendProblemPage(
          reply,
          422,
          'Check the tax or fee',
          `Give it a name, choose tax or fee and percentage or fixed, and a rate above 0. ${input.error.issues.map(describeIssue).join(' ')}`,
        );
      }
      store.createTaxOrFee(actor, actor.accountId, input.data);
      return backTo(reply, event, 'tax_added');
    }),
  );

  // Emulator only: sell tickets as if buyers had checked out, to watch availability change on Tuvens.
  app.post('/manage/event/:event_id/products/:product_id/sell', (request, reply) =>
    withEvent(request, reply, (_actor, event) => {
      const body = (request.body ?? {}) as { quantity?: string; price_id?: string };
      const quantity = Number(body.quantity ?? 1);
      const priceId = body.price_id ? Number(body.price_id) : undefined;
      try {
        sellTickets(store, event.id, {
          productId: idParam(request, 'product_id'),
          priceId: Number.isSafeInteger(priceId) ? priceId : undefined,
          quantity: Number.isInteger(quantity) ? quantity : 1,
        });
      } catch (error) {
        if (!(error instanceof EmulatorError) || error.statusCode === 404) throw error;
        return sendProblemPage(reply, 422, 'Cannot sell', error.message.replace(/^[a-z_]+: /, ''));
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

/** An amount as the set-up page shows it: "Free", or "25.00 EUR". */
function money(amount: number, currency: string): string {
  return amount === 0 ? 'Free' : `${amount.toFixed(2)} ${escapeHtml(currency)}`;
}

/** "VAT 10%", "Booking fee 1.50 EUR". */
function describeTaxOrFee(taxOrFee: TaxAndFee, currency: string): string {
  const rate =
    taxOrFee.calculation_type === 'PERCENTAGE' ? `${taxOrFee.rate}%` : money(taxOrFee.rate, currency);
  return `${escapeHtml(taxOrFee.name)} (${taxOrFee.type === 'TAX' ? 'tax' : 'fee'}, ${rate})`;
}

/** One row of the ticket table: its prices (each tier on a line), what is sold, and its actions. */
function renderProductRow(store: HiEventsStore, event: HiEvent, product: Product, setup: string): string {
  const taxes = taxesAndFeesOf(store, product);
  const title = escapeHtml(product.title);
  const prices = product.prices
    .map((price) => {
      const buyerPays = priceTotals(taxes, price).priceIncludingTaxesAndFees;
      const label = price.label ? `${escapeHtml(price.label)}: ` : '';
      const withExtras =
        taxes.length > 0 && price.price > 0
          ? ` (${money(buyerPays, event.currency)} with taxes and fees)`
          : '';
      const sold = `${price.quantity_sold} sold${price.initial_quantity_available === null ? '' : ` of ${price.initial_quantity_available}`}`;
      return `<li data-testid="price-${price.id}">${label}${money(price.price, event.currency)}${withExtras}; ${sold}</li>`;
    })
    .join('');
  const sold = product.prices.reduce((sum, price) => sum + price.quantity_sold, 0);
  const soldOf = product.prices.every((price) => price.initial_quantity_available !== null)
    ? ` of ${product.prices.reduce((sum, price) => sum + (price.initial_quantity_available ?? 0), 0)}`
    : '';
  const tierChoice =
    product.type === 'TIERED'
      ? `<label>Tier <select name="price_id" aria-label="Tier to sell of ${title}">${product.prices
          .map((price) => `<option value="${price.id}">${escapeHtml(price.label ?? '')}</option>`)
          .join('')}</select></label>`
      : '';
  const sell =
    event.status === 'LIVE'
      ? `<form class="inline" method="post" action="${setup}/${product.id}/sell">${tierChoice}<label>Sell <input name="quantity" type="number" min="1" max="100" value="1" aria-label="Tickets to sell of ${title}"></label><button type="submit">Sell</button></form>`
      : '';
  return `<tr><td>${title}${product.type === 'TIERED' ? ' <span class="badge">tiered</span>' : ''}${taxes.length > 0 ? `<br><small>Plus ${taxes.map((taxOrFee) => describeTaxOrFee(taxOrFee, event.currency)).join(', ')}</small>` : ''}</td>
<td><ul class="prices">${prices}</ul></td>
<td data-testid="sold-${product.id}">${sold} sold${soldOf}</td>
<td>${sell}
<form class="inline" method="post" action="${setup}/${product.id}/delete"><button type="submit" class="secondary">Delete</button></form></td></tr>`;
}

/** Checkboxes for the account's taxes and fees, for a ticket type form. */
function renderTaxChoices(taxes: readonly TaxAndFee[], currency: string, form: string): string {
  if (taxes.length === 0) return '<p>No taxes or fees yet: add one below to apply it to ticket types.</p>';
  return `<fieldset><legend>Taxes and fees to apply</legend>${taxes
    .map(
      (taxOrFee) =>
        `<label class="choice"><input type="checkbox" name="tax_and_fee_ids" value="${taxOrFee.id}" id="${form}-tax-${taxOrFee.id}"> ${describeTaxOrFee(taxOrFee, currency)}</label>`,
    )
    .join('')}</fieldset>`;
}

function renderTierRows(timeZone: string): string {
  const rows = [];
  for (let row = 1; row <= TIER_ROWS; row += 1) {
    rows.push(`<tr><th scope="row">${row}</th>
<td><input name="tier_${row}_label" maxlength="100" aria-label="Tier ${row} label"${row === 1 ? ' required' : ''}></td>
<td><input name="tier_${row}_price" type="number" min="0" step="0.01" aria-label="Tier ${row} price"${row === 1 ? ' required' : ''}></td>
<td><input name="tier_${row}_quantity" type="number" min="0" step="1" placeholder="unlimited" aria-label="Tier ${row} quantity"></td>
<td><input name="tier_${row}_sale_start" type="datetime-local" aria-label="Tier ${row} sales start (${escapeHtml(timeZone)})"></td>
<td><input name="tier_${row}_sale_end" type="datetime-local" aria-label="Tier ${row} sales end (${escapeHtml(timeZone)})"></td></tr>`);
  }
  return `<div class="scroll"><table class="tiers"><caption>Price tiers (fill in as many rows as you need; sales windows in ${escapeHtml(timeZone)})</caption>
<thead><tr><th scope="col">#</th><th scope="col">Label</th><th scope="col">Price</th><th scope="col">Quantity</th><th scope="col">Sales start</th><th scope="col">Sales end</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function renderSetup(ctx: EmulatorContext, actor: Actor, event: HiEvent, notice: string | undefined): string {
  const { store } = ctx;
  const products = store.productsOf(event.id);
  const taxes = store.taxesAndFeesOf(actor, actor.accountId).filter((taxOrFee) => taxOrFee.is_active);
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
  const rows = products.map((product) => renderProductRow(store, event, product, setup)).join('\n');
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
${products.length ? `<table><thead><tr><th scope="col">Name</th><th scope="col">Prices</th><th scope="col">Sold</th><th scope="col">Actions</th></tr></thead><tbody>${rows}</tbody></table>` : '<p>No ticket types yet. Add one below, then publish the event.</p>'}
<form method="post" action="${setup}" aria-labelledby="add-ticket">
<h3 id="add-ticket">Add a ticket type with one price</h3>
<label>Name <input name="title" required maxlength="255"></label>
<label>Price <input name="price" type="number" min="0" step="0.01" value="0" required></label>
<label>Quantity <input name="quantity" type="number" min="0" step="1" placeholder="unlimited"></label>
<label class="choice"><input name="show_quantity_remaining" type="checkbox"> Show buyers how many are left</label>
${renderTaxChoices(taxes, event.currency, 'single')}
<button type="submit">Add ticket type</button>
</form>
<form method="post" action="${setup}" aria-labelledby="add-tiered">
<h3 id="add-tiered">Add a tiered ticket type</h3>
<input type="hidden" name="pricing" value="tiered">
<label>Name <input name="title" required maxlength="255"></label>
${renderTierRows(event.timezone)}
<label class="choice"><input name="show_quantity_remaining" type="checkbox"> Show buyers how many are left</label>
${renderTaxChoices(taxes, event.currency, 'tiered')}
<button type="submit">Add tiered ticket type</button>
</form>
</section>
<section>
<h2>Taxes and fees</h2>
${taxes.length ? `<ul>${taxes.map((taxOrFee) => `<li>${describeTaxOrFee(taxOrFee, event.currency)}</li>`).join('')}</ul>` : '<p>None yet. Taxes and fees belong to the account and apply to the ticket types they are ticked on.</p>'}
<form method="post" action="/manage/event/${event.id}/taxes-and-fees" aria-labelledby="add-tax">
<h3 id="add-tax">Add a tax or fee</h3>
<label>Name <input name="name" required maxlength="255"></label>
<label>Kind <select name="type"><option value="TAX">Tax</option><option value="FEE">Fee</option></select></label>
<label>Calculated as <select name="calculation_type"><option value="PERCENTAGE">Percentage of the price</option><option value="FIXED">Fixed amount per ticket</option></select></label>
<label>Rate <input name="rate" type="number" min="0.001" step="0.001" required></label>
<button type="submit">Add tax or fee</button>
</form>
</section>
<section>
<h2>Danger zone</h2>
<form method="post" action="/manage/event/${event.id}/delete"><button type="submit" class="danger">Delete event</button></form>
</section>
</main>`;
}
