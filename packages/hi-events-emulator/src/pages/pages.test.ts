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

  it('adds and deletes a ticket type, publishes, pauses, archives and deletes the event through its forms', async () => {
    const added = await form(`/manage/event/${eventId}/products`, {
      title: 'General admission',
      price: '12.5',
    });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/manage/event/${eventId}/products?notice=ticket_added`);
    const [product] = emulator.store.productsOf(eventId);
    expect(product).toMatchObject({ title: 'General admission', price: 12.5, type: 'PAID' });
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
