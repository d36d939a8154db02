import { NO_TICKETS, type TicketSummary } from '@tuvens/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventOnSale, HAS_CHROMIUM, reportSummary, type Stack, startStack } from './stack.ts';

const ON_SALE: TicketSummary = {
  ...NO_TICKETS,
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 40,
  prices_include_taxes_and_fees: true,
  sales_state: 'on_sale',
};

/** Live ticket availability on the events list and the event page, in a real browser. */
describe.skipIf(!HAS_CHROMIUM)('ticket summaries in a real browser', () => {
  let stack: Stack;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  async function newPage(): Promise<{ page: Page; consoleErrors: string[] }> {
    const context = await stack.browser.newContext({ viewport: { width: 1024, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    return { page, consoleErrors };
  }

  it('the event page and the events list go from "From €25" to "Sold out" live; the JSON-LD follows the summary', async () => {
    const { eventId, hiEventsId, title } = await eventOnSale(stack, {
      titlePrefix: 'Harbour Lights',
      daysAhead: 7,
      summary: ON_SALE,
    });
    const { page: eventPage, consoleErrors } = await newPage();
    await eventPage.goto(`${stack.web.url}/event/${eventId}`);
    const onEventPage = eventPage.getByTestId('ticket-summary');
    await expect.poll(() => onEventPage.textContent()).toContain('From €25');
    const { page: listPage } = await newPage();
    await listPage.goto(stack.web.url);
    const item = listPage.getByRole('listitem').filter({ hasText: title });
    await expect.poll(() => item.getByTestId('ticket-summary').textContent()).toContain('From €25');

    const jsonLd = JSON.parse((await eventPage.locator('script[type="application/ld+json"]').textContent())!);
    expect(jsonLd).toMatchObject({
      '@type': 'Event',
      name: title,
      offers: {
        '@type': 'AggregateOffer',
        lowPrice: 25,
        highPrice: 40,
        priceCurrency: 'EUR',
        availability: 'https://schema.org/InStock',
      },
    });
    expect(await eventPage.locator('meta[name="description"]').getAttribute('content')).toContain('From €25');
    // Its scheme is adapter-node's (`ORIGIN`), which this stack does not set.
    expect(await eventPage.locator('link[rel="canonical"]').getAttribute('href')).toMatch(
      new RegExp(`^https?://127\\.0\\.0\\.1:\\d+/event/${eventId}$`),
    );

    await reportSummary(stack, eventId, hiEventsId, { ...ON_SALE, sales_state: 'sold_out' });
    await expect.poll(() => onEventPage.textContent()).toContain('Sold out');
    await expect.poll(() => item.getByTestId('ticket-summary').textContent()).toContain('Sold out');
    // The page is not reloaded: the CSP let nothing through that it logged as refused.
    expect(consoleErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
  });

  it("a visitor's event page, served again while its event is unchanged, shows a change on the next load", async () => {
    const { eventId, hiEventsId } = await eventOnSale(stack, {
      titlePrefix: 'Harbour Lights',
      daysAhead: 7,
      summary: ON_SALE,
    });
    const load = async () => {
      const answer = await fetch(`${stack.web.url}/event/${eventId}`, { headers: { accept: 'text/html' } });
      expect(answer.status).toBe(200);
      return answer.text();
    };
    // Drawn, then kept once the web server hears tuvens-api's change stream.
    expect(await load()).toContain('https://schema.org/InStock');
    expect(await load()).toContain('https://schema.org/InStock');

    await reportSummary(stack, eventId, hiEventsId, { ...ON_SALE, sales_state: 'sold_out' });
    // Well within the page's maximum age (PAGE_CACHE_MAX_AGE_MS, 5 s): the change itself drops the page.
    await expect.poll(load, { timeout: 2_500 }).toContain('https://schema.org/SoldOut');
  });
});
