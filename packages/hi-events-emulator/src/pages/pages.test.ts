import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('the emulator’s pages', () => {
  let emulator: RunningEmulator;
  let token: string;
  let eventId: number;

  const page = (path: string, init: RequestInit & { signedIn?: boolean } = {}) =>
    fetch(`${emulator.url}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.signedIn === false ? {} : { cookie: `token=${token}` }), ...init.headers },
    });
  const form = (path: string, fields: Record<string, string>, origin?: string) =>
    page(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: origin ?? new URL(emulator.url).origin,
      },
      body: new URLSearchParams(fields).toString(),
    });

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', logger: false });
    const { account, user } = emulator.store.register({
      first_name: 'Olivia',
      email: 'olivia@example.test',
      password: 'long-password',
      password_confirmation: 'long-password',
    });
    const actor = { userId: user.id, accountId: account.id };
    const organizer = emulator.store.createOrganizer(actor, {
      name: 'Tuvens Demo Events',
      email: 'olivia@example.test',
      timezone: 'UTC',
      currency: 'EUR',
    });
    eventId = emulator.store.createEvent(actor, {
      title: 'Summer Concert <in> the Park',
      organizer_id: organizer.id,
      start_date: new Date(Date.now() + 86_400_000).toISOString(),
      end_date: new Date(Date.now() + 90_000_000).toISOString(),
    }).id;
    token = await emulator.issueToken(actor);
  });
  afterAll(() => emulator.close());

  it('shows the ticket set-up only to a signed-in organizer, and escapes what it shows', async () => {
    const anonymous = await page(`/manage/event/${eventId}/products`, { signedIn: false });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain('Open ticketing from your event on Tuvens');

    const signedIn = await page(`/manage/event/${eventId}/products`);
    expect(signedIn.status).toBe(200);
    const html = await signedIn.text();
    expect(html).toContain('Summer Concert &lt;in&gt; the Park');
    expect(html).toContain('data-testid="status">DRAFT');
    expect(signedIn.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('lets a person add a ticket type with a quantity and sell it out from the set-up page', async () => {
    const actor = { userId: 1, accountId: 1 };
    const id = emulator.store.createEvent(actor, {
      title: 'Flash sale',
      organizer_id: 1,
      start_date: new Date(Date.now() + 86_400_000).toISOString(),
    }).id;
    const added = await form(`/manage/event/${id}/products`, {
      title: 'General admission',
      price: '25',
      quantity: '2',
      show_quantity_remaining: 'on',
    });
    expect(added.status).toBe(303);
    const [product] = emulator.store.productsOf(id);
    expect(product).toMatchObject({
      show_quantity_remaining: true,
      prices: [{ initial_quantity_available: 2 }],
    });
    expect((await form(`/manage/event/${id}/status`, { status: 'LIVE' })).status).toBe(303);

    const sold = await form(`/manage/event/${id}/products/${product!.id}/sell`, { quantity: '2' });
    expect(sold.headers.get('location')).toBe(`/manage/event/${id}/products?notice=tickets_sold`);
    expect(await (await page(`/manage/event/${id}/products`)).text()).toContain('2 sold of 2');
    const publicEvent = (await (await page(`/api/public/events/${id}`, { signedIn: false })).json()) as {
      data: { product_categories: { products: { is_sold_out: boolean; quantity_available: number }[] }[] };
    };
    expect(publicEvent.data.product_categories[0]!.products[0]).toMatchObject({
      is_sold_out: true,
      quantity_available: 0,
    });
    const more = await form(`/manage/event/${id}/products/${product!.id}/sell`, { quantity: '1' });
    expect(more.status).toBe(422);
    expect(await more.text()).toContain('The product General admission is sold out');
  });

  it('lets a person add a tax and a fee, then a tiered ticket type with them, and sell one tier', async () => {
    const actor = { userId: 1, accountId: 1 };
    const id = emulator.store.createEvent(actor, {
      title: 'Festival',
      organizer_id: 1,
      start_date: new Date(Date.now() + 86_400_000).toISOString(),
    }).id;
    const setup = `/manage/event/${id}/products`;
    const empty = await (await page(setup)).text();
    expect(empty).toContain('<h3 id="add-tiered">Add a tiered ticket type</h3>');
    expect(empty).toContain('aria-label="Tier 1 label"');
    expect(empty).toContain('<h3 id="add-tax">Add a tax or fee</h3>');

    const vat = { name: 'VAT', type: 'TAX', calculation_type: 'PERCENTAGE', rate: '10' };
    expect((await form(`/manage/event/${id}/taxes-and-fees`, vat)).headers.get('location')).toBe(
      `${setup}?notice=tax_added`,
    );
    await form(`/manage/event/${id}/taxes-and-fees`, {
      name: 'Booking fee',
      type: 'FEE',
      calculation_type: 'FIXED',
      rate: '1.5',
    });
    const refusedTax = await form(`/manage/event/${id}/taxes-and-fees`, { ...vat, name: 'Zero', rate: '0' });
    expect(refusedTax.status).toBe(422);
    expect(await refusedTax.text()).toContain('rate');
    expect((await form(`/manage/event/${id}/taxes-and-fees`, vat)).status).toBe(422);

    const withTaxes = await (await page(setup)).text();
    const taxIds = [...withTaxes.matchAll(/id="tiered-tax-(\d+)"/g)].map((match) => match[1]!);
    expect(taxIds).toHaveLength(2);
    expect(withTaxes).toContain('Booking fee (fee, 1.50 EUR)');

    // A tier without a label is refused, naming the row.
    const unlabelled = await form(setup, {
      pricing: 'tiered',
      title: 'Pass',
      tier_1_label: '',
      tier_1_price: '25',
    });
    expect(unlabelled.status).toBe(422);
    expect(await unlabelled.text()).toContain('Price tier 1 (label)');

    const body = new URLSearchParams({
      pricing: 'tiered',
      title: 'Festival pass',
      tier_1_label: 'Early bird',
      tier_1_price: '25',
      tier_1_quantity: '2',
      tier_2_label: 'Standard',
      tier_2_price: '40',
      tier_2_quantity: '',
      tier_2_sale_end: '2030-01-01T18:00',
      tier_3_label: '',
      tier_3_price: '',
      show_quantity_remaining: 'on',
    });
    for (const taxId of taxIds) body.append('tax_and_fee_ids', taxId);
    const added = await page(setup, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(emulator.url).origin },
      body: body.toString(),
    });
    expect(added.headers.get('location')).toBe(`${setup}?notice=ticket_added`);
    const [product] = emulator.store.productsOf(id);
    expect(product).toMatchObject({
      type: 'TIERED',
      show_quantity_remaining: true,
      tax_and_fee_ids: taxIds.map(Number),
      prices: [
        { label: 'Early bird', price: 25, initial_quantity_available: 2, sale_end_date: null },
        {
          label: 'Standard',
          price: 40,
          initial_quantity_available: null,
          sale_end_date: new Date('2030-01-01T18:00:00Z'),
        },
      ],
    });

    const listed = await (await page(setup)).text();
    expect(listed).toContain('Early bird: 25.00 EUR (29.15 EUR with taxes and fees); 0 sold of 2');
    expect(listed).toContain('Standard: 40.00 EUR (45.65 EUR with taxes and fees); 0 sold');

    await form(`/manage/event/${id}/status`, { status: 'LIVE' });
    const early = product!.prices[0]!;
    const sold = await form(`${setup}/${product!.id}/sell`, { price_id: String(early.id), quantity: '2' });
    expect(sold.headers.get('location')).toBe(`${setup}?notice=tickets_sold`);
    expect(early.quantity_sold).toBe(2);
    expect(product!.prices[1]!.quantity_sold).toBe(0);
    const live = await (await page(setup)).text();
    expect(live).toContain('<select name="price_id" aria-label="Tier to sell of Festival pass">');
    const again = await form(`${setup}/${product!.id}/sell`, { price_id: String(early.id) });
    expect(again.status).toBe(422);
    expect(await again.text()).toContain('The product Festival pass - Early bird is sold out');

    const publicPage = await (await page(`/event/${id}/festival`, { signedIn: false })).text();
    expect(publicPage).toContain('Festival pass – Standard</td><td>45.65 EUR');
  });

  it('adds and deletes a ticket type, publishes, pauses, archives and deletes the event through its forms', async () => {
    const added = await form(`/manage/event/${eventId}/products`, {
      title: 'General admission',
      price: '12.5',
    });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/manage/event/${eventId}/products?notice=ticket_added`);
    const [product] = emulator.store.productsOf(eventId);
    expect(product).toMatchObject({ title: 'General admission', type: 'PAID', prices: [{ price: 12.5 }] });
    expect((await form(`/manage/event/${eventId}/products`, { title: '', price: '-1' })).status).toBe(422);

    await form(`/manage/event/${eventId}/status`, { status: 'LIVE' });
    expect(emulator.store.events.get(eventId)!.status).toBe('LIVE');
    const live = await (await page(`/manage/event/${eventId}/products?notice=published`)).text();
    expect(live).toContain('The event is live');
    expect(live).toContain(`/event/${eventId}/summer-concert-in-the-park`);

    await form(`/manage/event/${eventId}/status`, { status: 'DRAFT' });
    expect(emulator.store.events.get(eventId)!.status).toBe('DRAFT');
    await form(`/manage/event/${eventId}/status`, { status: 'ARCHIVED' });
    expect(emulator.store.events.get(eventId)!.status).toBe('ARCHIVED');
    expect((await form(`/manage/event/${eventId}/status`, { status: 'PAUSED' })).status).toBe(400);

    await form(`/manage/event/${eventId}/products/${product!.id}/delete`, {});
    expect(emulator.store.productsOf(eventId)).toEqual([]);
    await form(`/manage/event/${eventId}/status`, { status: 'DRAFT' });
    await form(`/manage/event/${eventId}/status`, { status: 'LIVE' });
  });

  it('refuses a form sent from another site, even with the organizer’s cookie', async () => {
    const refused = await form(
      `/manage/event/${eventId}/status`,
      { status: 'ARCHIVED' },
      'https://evil.example',
    );
    expect(refused.status).toBe(403);
    expect(emulator.store.events.get(eventId)!.status).toBe('LIVE');
  });

  it('shows the public event page and the widget only while the event is live', async () => {
    const publicPage = await page(`/event/${eventId}/any-slug`, { signedIn: false });
    expect(publicPage.status).toBe(200);
    expect(await publicPage.text()).toContain('Summer Concert &lt;in&gt; the Park');

    const widget = await page(`/widget/${eventId}?iframeId=hievents-iframe-0`, { signedIn: false });
    expect(widget.status).toBe(200);
    const csp = widget.headers.get('content-security-policy')!;
    expect(csp).toContain('frame-ancestors *');
    const html = await widget.text();
    const script = html.match(/<script>([\s\S]*)<\/script>/)![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);

    // Hi.Events' widget for an event it will not show stays a loader and never posts a resize message.
    const unavailable = await page('/widget/999999', { signedIn: false });
    expect(unavailable.status).toBe(200);
    const loader = await unavailable.text();
    expect(loader).toContain('Loading');
    expect(loader).not.toContain('<script>');
    expect((await page('/event/999999/x', { signedIn: false })).status).toBe(404);
  });

  it('answers /healthz, for npm start and test harnesses to wait on', async () => {
    expect(await (await page('/healthz', { signedIn: false })).json()).toEqual({ status: 'ok' });
  });

  it('serves /widget.js, the embed script, to any site', async () => {
    const script = await page('/widget.js', { signedIn: false });
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(script.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const text = await script.text();
    expect(text).toContain('hievents-widget');
    expect(() => new Function(text)).not.toThrow();
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'in a browser: a page on another site embeds the widget with /widget.js and the iframe grows to the height it reports',
    async () => {
      const host: Server = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end(`<!doctype html><body><h1>Tuvens</h1>
<div class="hievents-widget" data-hievents-id="${eventId}" data-hievents-primary-color="#123456"></div>
<script src="${emulator.url}/widget.js"></script></body>`);
      });
      await new Promise<void>((resolve) => host.listen(0, 'localhost', resolve));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox'],
      });
      try {
        const tab = await browser.newPage();
        const problems: string[] = [];
        tab.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        await tab.goto(`http://localhost:${(host.address() as AddressInfo).port}/`);
        const iframe = tab.locator('iframe#hievents-iframe-0');
        await iframe.waitFor();
        const src = new URL((await iframe.getAttribute('src'))!);
        expect(src.origin).toBe(new URL(emulator.url).origin);
        expect(src.pathname).toBe(`/widget/${eventId}`);
        expect(src.searchParams.get('iframeId')).toBe('hievents-iframe-0');
        expect(src.searchParams.get('PrimaryColor')).toBe('#123456');
        await tab.waitForFunction(() => {
          const frame = document.querySelector<HTMLIFrameElement>('#hievents-iframe-0');
          return Boolean(frame?.style.height.endsWith('px'));
        });
        const frame = tab.frameLocator('#hievents-iframe-0');
        await expect(frame.getByText('Summer Concert <in> the Park').textContent()).resolves.toContain(
          'Summer',
        );
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
        await new Promise((resolve) => host.close(resolve));
      }
    },
  );
});
