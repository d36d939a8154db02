import { type Emulator, type EmulatorContext, idParam } from '../http/context.ts';
import { EmulatorError } from '../http/errors.ts';
import { priceTotals, taxesAndFeesOf } from '../state/products.ts';
import type { HiEvent } from '../state/store.ts';
import { embedHiEventsWidgets, reportWidgetHeight } from './browser-scripts.ts';
import { browserScript, escapeHtml, sendPage, sendProblemPage } from './html.ts';

/** The public event page `/event/{id}/{slug}`, the embeddable widget `/widget/{id}` and `/widget.js`. */
export function registerPublicPages(app: Emulator, ctx: EmulatorContext): void {
  const { store } = ctx;
  const embedScript = browserScript(embedHiEventsWidgets, 'document.currentScript');
  const resizeScript = browserScript(reportWidgetHeight);

  const liveEvent = (id: number): HiEvent | undefined => {
    try {
      return store.publicEvent(id);
    } catch (error) {
      if (error instanceof EmulatorError) return undefined;
      throw error;
    }
  };

  app.get('/', async (_request, reply) =>
    sendPage(reply, {
      title: 'Hi.Events emulator',
      body: `<main><section><h1>Hi.Events emulator</h1>
<p>A stand-in for the parts of Hi.Events that Tuvens uses, for development and tests. Its API is under <code>/api</code>;
organizers reach an event's ticket set-up by enabling ticketing on Tuvens.</p></section></main>`,
    }),
  );

  app.get('/event/:event_id/:slug', async (request, reply) => {
    const event = liveEvent(idParam(request, 'event_id'));
    if (!event) {
      return sendProblemPage(
        reply,
        404,
        'This event is not available',
        'It may have been unpublished or removed.',
      );
    }
    return sendPage(reply, {
      title: event.title,
      body: `<main><section><h1>${escapeHtml(event.title)}</h1>
<p>${escapeHtml(event.start_date.toUTCString())}${event.end_date ? ` – ${escapeHtml(event.end_date.toUTCString())}` : ''}</p>
${event.description ? `<p>${escapeHtml(event.description)}</p>` : ''}
</section><section><h2>Tickets</h2>${renderTickets(ctx, event)}</section></main>`,
    });
  });

  // Hi.Events' `ProductWidget` waits on `GET /public/events/{id}`; for an event that is not live that
  // answer is a 404 and the widget stays a loader for good, sending no resize message.
  app.get('/widget/:event_id', async (request, reply) => {
    const event = liveEvent(idParam(request, 'event_id'));
    if (!event) {
      return sendPage(reply, {
        title: 'Loading…',
        body: '<main><p aria-busy="true">Loading…</p></main>',
        frameable: true,
        header: false,
      });
    }
    return sendPage(reply, {
      title: `${event.title} · Tickets`,
      body: `<main><h2>${escapeHtml(event.title)}</h2>${renderTickets(ctx, event)}
<p><a href="${escapeHtml(`${ctx.publicUrl()}/event/${event.id}/${store.slugOf(event)}`)}" target="_blank" rel="noopener">Continue</a></p></main>`,
      script: resizeScript,
      frameable: true,
      header: false,
    });
  });

  app.get('/favicon.ico', async (_request, reply) => reply.status(204).send());

  app.get('/widget.js', async (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(embedScript),
  );
}

/** Each ticket type and price as buyers see it: what they pay, taxes and fees included. */
function renderTickets(ctx: EmulatorContext, event: HiEvent): string {
  const products = ctx.store.productsOf(event.id);
  if (products.length === 0) return '<p>No tickets are on sale yet.</p>';
  return `<table><tbody>${products
    .flatMap((product) => {
      const taxes = taxesAndFeesOf(ctx.store, product);
      return product.prices.map((price) => {
        const pays = priceTotals(taxes, price).priceIncludingTaxesAndFees;
        const name = price.label ? `${product.title} – ${price.label}` : product.title;
        return `<tr><td>${escapeHtml(name)}</td><td>${pays === 0 ? 'Free' : `${pays.toFixed(2)} ${escapeHtml(event.currency)}`}</td></tr>`;
      });
    })
    .join('')}</tbody></table>`;
}
