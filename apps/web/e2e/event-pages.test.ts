import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO,
  HAS_CHROMIUM,
  publishHiEventsEvent,
  RESULTS_DIR,
  reportStatus,
  type Stack,
  screenshot,
  scrollsSideways,
  signIn,
  startStack,
  WEB_DIR,
} from './stack.ts';

/** Sign-in, the pages, who sees "Enable ticketing", live widget states, lazy loading and the fallback. */
describe.skipIf(!HAS_CHROMIUM)('the web app in a real browser', () => {
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

  async function newPage(viewport = { width: 1024, height: 800 }): Promise<Page> {
    const context = await stack.browser.newContext({ viewport });
    contexts.push(context);
    return context.newPage();
  }

  const ticketsRegion = (page: Page) => page.getByRole('region', { name: 'Tickets', exact: true });

  async function createEvent(title: string, visibility: 'public' | 'private' = 'public'): Promise<number> {
    const token = await stack.api.login(DEMO.organizer);
    const startsAt = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
    const created = await stack.api.request('POST', '/api/events', {
      headers: { authorization: `Bearer ${token}` },
      body: {
        title,
        visibility,
        starts_at: startsAt.toISOString(),
        ends_at: new Date(startsAt.getTime() + 3 * 60 * 60 * 1000).toISOString(),
      },
    });
    return created.body.id;
  }

  it('a visitor sees the events and an event page without signing in, and no enable button', async () => {
    const page = await newPage();
    await page.goto(stack.web.url);
    await expect.poll(() => page.getByRole('link', { name: 'Summer Concert in the Park' }).count()).toBe(1);

    await page.getByRole('link', { name: 'Summer Concert in the Park' }).click();
    await page.waitForURL(`${stack.web.url}/event/1`);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('none');
    expect(await page.getByRole('button', { name: 'Enable ticketing' }).count()).toBe(0);
    await screenshot(page, 'widget-none');
  });

  it('only the organizer is offered “Enable ticketing”: not the member, not the attendee', async () => {
    for (const [email, offered] of [
      [DEMO.organizer, 1],
      [DEMO.member, 0],
      [DEMO.attendee, 0],
    ] as const) {
      const page = await newPage();
      await signIn(page, stack, email, '/event/1');
      await expect.poll(() => ticketsRegion(page).count()).toBe(1);
      expect(await page.getByRole('button', { name: 'Enable ticketing' }).count(), email).toBe(offered);
      if (email === DEMO.organizer) await screenshot(page, 'organizer-event-page');
    }
  });

  it('the session lives only in an HttpOnly cookie that page scripts cannot read', async () => {
    const page = await newPage();
    await signIn(page, stack, DEMO.organizer);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'tuvens_session', httpOnly: true, sameSite: 'Lax' }),
    ]);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    expect(await page.context().cookies()).toEqual([]);
  });

  it('a wrong password is refused in plain words', async () => {
    const page = await newPage();
    await page.goto(`${stack.web.url}/login`);
    await page.getByLabel('Email address').fill(DEMO.organizer);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/don’t match an account/);
  });

  it('an organizer creates an event with the form and lands on its page', async () => {
    const page = await newPage();
    await signIn(page, stack, DEMO.organizer, '/events/new');
    await page.getByLabel('Title').fill('Autumn Poetry Night');
    await page.getByLabel('Starts').fill('2027-03-01T19:00');
    await page.getByLabel('Ends').fill('2027-03-01T22:00');
    await screenshot(page, 'new-event-form');
    await page.getByRole('button', { name: 'Create event' }).click();

    await page.waitForURL(/\/event\/\d+$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Autumn Poetry Night');
    expect(await page.getByRole('button', { name: 'Enable ticketing' }).count()).toBe(1);
  });

  it('“Enable ticketing” refuses other sites, and /cross-app/authorize mints nothing for a hand-over not started here', async () => {
    const organizer = await newPage();
    await signIn(organizer, stack, DEMO.organizer, '/event/1');
    const [cookie] = await organizer.context().cookies();
    const fromElsewhere = await fetch(`${stack.web.url}/event/1?/enableTicketing`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://attacker.example',
        cookie: `${cookie!.name}=${cookie!.value}`,
      },
      body: '',
      redirect: 'manual',
    });
    expect(fromElsewhere.status).toBe(403);

    const sessions = () =>
      stack.api.database.db
        .selectFrom('crossAppSession')
        .select('id')
        .execute()
        .then((rows) => rows.length);
    const before = await sessions();
    const authorize = new URLSearchParams({
      event_id: '1',
      state: 'S'.repeat(43),
      code_challenge: 'C'.repeat(43),
    });
    await organizer.goto(`${stack.web.url}/cross-app/authorize?${authorize}`);
    expect(organizer.url()).toBe(`${stack.web.url}/event/1?ticketing=start_here`);
    expect(await organizer.getByRole('alert').textContent()).toMatch(/opens only from this page/);
    expect(await sessions()).toBe(before);

    const visitor = await newPage();
    await visitor.goto(`${stack.web.url}/cross-app/authorize?${authorize}`);
    expect(new URL(visitor.url()).pathname).toBe('/login');
    const malformed = await fetch(`${stack.web.url}/cross-app/authorize?event_id=1&state=x&code_challenge=y`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'validation_failed', message: /state/ } });
  });

  it('when the Hi.Events side cannot be reached, “Enable ticketing” says so and stays on Tuvens', async () => {
    const page = await newPage();
    await signIn(page, stack, DEMO.organizer, '/event/1');
    await page.getByRole('button', { name: 'Enable ticketing' }).click();

    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/Hi\.Events can’t be reached right now/);
    // The form's own action answered, on this site.
    expect(new URL(page.url()).pathname).toBe('/event/1');
    await screenshot(page, 'enable-hi-events-unreachable');
  });

  it('a second browser on the event page follows setup → active → inactive without a reload', async () => {
    const eventId = await createEvent('Live Update Showcase');
    const hiEvents = publishHiEventsEvent(stack, 'Live Update Showcase');
    const page = await newPage();
    const streamOpen = page.waitForResponse((response) => response.url().includes('/api/events/updates'));
    await page.goto(`${stack.web.url}/event/${eventId}`);
    await streamOpen;
    expect(await ticketsRegion(page).getAttribute('data-status')).toBe('none');

    await reportStatus(stack, eventId, 'setup', hiEvents);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('setup');
    expect(await page.getByText('Configuration in progress').isVisible()).toBe(true);
    await screenshot(page, 'widget-setup');

    await reportStatus(stack, eventId, 'active', hiEvents);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('active');
    await page.locator('iframe').scrollIntoViewIfNeeded();
    const widget = page.frameLocator('iframe').getByText('General admission');
    await expect.poll(() => widget.count()).toBe(1);
    expect(await page.getByRole('status').first().textContent()).toBe('Tickets are now on sale.');
    await screenshot(page, 'widget-active');

    await reportStatus(stack, eventId, 'inactive', hiEvents);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('inactive');
    expect(await page.getByText('Ticketing is currently paused').isVisible()).toBe(true);
    await screenshot(page, 'widget-inactive');
  });

  it('a change made after the page was rendered but before its stream opened still reaches it', async () => {
    const eventId = await createEvent('Just-in-time Launch');
    const hiEvents = publishHiEventsEvent(stack, 'Just-in-time Launch');
    const page = await newPage();
    // The stream is held back until Hi.Events has reported a change that the rendered page cannot show.
    await page.route(
      (url) => url.pathname === '/api/events/updates',
      async (route) => {
        await reportStatus(stack, eventId, 'setup', hiEvents);
        await route.continue();
      },
      { times: 1 },
    );
    await page.goto(`${stack.web.url}/event/${eventId}`);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('setup');
  });

  it('a signed-in organizer follows a private event live, through this site’s relay of the stream', async () => {
    const eventId = await createEvent('Members-only Rehearsal', 'private');
    const hiEvents = publishHiEventsEvent(stack, 'Members-only Rehearsal');
    const page = await newPage();
    // Signed in straight onto the event page, so that the stream awaited is this page's own.
    const streamOpen = page.waitForResponse((response) => response.url().includes('/api/events/updates'));
    await signIn(page, stack, DEMO.organizer, `/event/${eventId}`);
    // Same-origin, so the sign-in in the HttpOnly cookie goes along; tuvens-api would not name a private event to a stranger.
    expect(new URL((await streamOpen).url()).origin).toBe(new URL(stack.web.url).origin);

    await reportStatus(stack, eventId, 'setup', hiEvents);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('setup');
    await reportStatus(stack, eventId, 'active', hiEvents);
    await expect.poll(() => ticketsRegion(page).getAttribute('data-status')).toBe('active');

    // The relay passes tuvens-api's refusals on as they are.
    const malformed = await fetch(`${stack.web.url}/api/events/updates?eventIds=first`);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('the Hi.Events iframe is not requested before the widget is scrolled into view', async () => {
    const eventId = await createEvent('Below The Fold');
    const hiEvents = publishHiEventsEvent(stack, 'Below The Fold');
    await reportStatus(stack, eventId, 'setup', hiEvents);
    await reportStatus(stack, eventId, 'active', hiEvents);

    // A short window keeps the widget below the fold.
    const page = await newPage({ width: 375, height: 160 });
    const widgetRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/widget/')) widgetRequests.push(request.url());
    });
    const streamOpen = page.waitForResponse((response) => response.url().includes('/api/events/updates'));
    await page.goto(`${stack.web.url}/event/${eventId}`);
    await streamOpen;
    // Two frames: the visibility check of the widget's placeholder has run by then.
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    );
    expect(await page.locator('.placeholder').count()).toBe(1);
    expect(widgetRequests).toEqual([]);

    await ticketsRegion(page)
      .getByRole('link', { name: /view tickets/i })
      .scrollIntoViewIfNeeded();
    await expect.poll(() => widgetRequests.length).toBe(1);
    expect(new URL(widgetRequests[0]!).pathname).toBe(`/widget/${hiEvents.id}`);
  });

  it('no page scrolls sideways at 375 px (nor at 320 px)', async () => {
    const eventId = await createEvent(
      'A Rather Long Event Title That Has To Wrap On Small Phone Screens Gracefully',
    );
    const hiEvents = publishHiEventsEvent(stack, 'Narrow Screens');
    await reportStatus(stack, eventId, 'setup', hiEvents);
    await reportStatus(stack, eventId, 'active', hiEvents);

    for (const width of [375, 320]) {
      const page = await newPage({ width, height: 740 });
      await signIn(page, stack, DEMO.organizer, `/event/${eventId}`);
      await ticketsRegion(page).scrollIntoViewIfNeeded();
      await expect.poll(() => page.frameLocator('iframe').getByText('General admission').count()).toBe(1);
      expect(await scrollsSideways(page), `event page at ${width} px`).toBe(false);
      await screenshot(page, `event-page-${width}px`);

      for (const path of ['/', '/events/new', '/event/1']) {
        await page.goto(`${stack.web.url}${path}`);
        expect(await scrollsSideways(page), `${path} at ${width} px`).toBe(false);
      }
    }
  });

  it('the event page loads at most 60 KiB of gzipped JavaScript', async () => {
    const page = await newPage();
    const scripts = new Set<string>();
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      if (response.url().startsWith(stack.web.url) && path.endsWith('.js')) scripts.add(path);
    });
    const streamOpen = page.waitForResponse((response) => response.url().includes('/api/events/updates'));
    await page.goto(`${stack.web.url}/event/1`);
    await streamOpen;

    // The gzip files that adapter-node serves beside each script.
    const sizes = Object.fromEntries(
      [...scripts].map((path) => [path, statSync(join(WEB_DIR, 'build/client', `${path}.gz`)).size]),
    );
    const total = Object.values(sizes).reduce((sum, size) => sum + size, 0);
    writeFileSync(
      join(RESULTS_DIR, 'event-page-js.json'),
      JSON.stringify({ totalGzipBytes: total, sizes }, null, 2),
    );
    expect(scripts.size).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(60 * 1024);
  });

  it('with Hi.Events stopped, the widget falls back to the link with a clear message', async () => {
    const eventId = await createEvent('Hi.Events Is Down');
    const hiEvents = publishHiEventsEvent(stack, 'Hi.Events Is Down');
    await reportStatus(stack, eventId, 'setup', hiEvents);
    await reportStatus(stack, eventId, 'active', hiEvents);
    await stack.stopHiEvents();

    const page = await newPage();
    await page.goto(`${stack.web.url}/event/${eventId}`);
    await ticketsRegion(page).scrollIntoViewIfNeeded();
    await expect.poll(() => page.getByText('The ticket widget didn’t load').count()).toBe(1);
    expect(await page.locator('iframe').count()).toBe(0);
    const link = ticketsRegion(page).getByRole('link', { name: /view tickets/i });
    expect(await link.getAttribute('href')).toBe(hiEvents.url);
    await screenshot(page, 'widget-fallback');
  });
});
