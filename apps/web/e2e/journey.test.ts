import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, HAS_CHROMIUM, type Stack, screenshot, signIn, startStack } from './stack.ts';

/**
 * The whole journey through every real part: tuvens-api, the connector and the Hi.Events emulator.
 * An organizer enables ticketing, arrives signed in at Hi.Events and publishes; a visitor who already
 * has the event page open watches the widget follow along without reloading.
 */
describe.skipIf(!HAS_CHROMIUM)('enabling ticketing, end to end', () => {
  let stack: Stack;
  let organizer: Page;
  let visitor: Page;

  const NAVIGATION = { timeout: 10_000 };
  const widgetStatus = (page: Page) =>
    page.getByRole('region', { name: 'Tickets', exact: true }).getAttribute('data-status');

  beforeAll(async () => {
    stack = await startStack({ connector: true });
    organizer = await (await stack.browser.newContext()).newPage();
    visitor = await (await stack.browser.newContext({ viewport: { width: 375, height: 740 } })).newPage();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('the visitor’s page is open and live before anything happens', async () => {
    const streamOpen = visitor.waitForResponse((response) => response.url().includes('/api/events/updates'));
    await visitor.goto(`${stack.web.url}/event/1`);
    await streamOpen;
    expect(await widgetStatus(visitor)).toBe('none');
  });

  it('the organizer enables ticketing and lands signed in at Hi.Events’ ticket set-up', async () => {
    await signIn(organizer, stack, DEMO.organizer, '/event/1');
    await organizer.getByRole('button', { name: 'Enable ticketing' }).click();

    await organizer.waitForURL(new RegExp(`^${stack.hiEventsUrl}/manage/event/\\d+/products`), NAVIGATION);
    expect(await organizer.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Summer Concert in the Park',
    );
    expect(new URL(organizer.url()).hash).toBe('');
    await screenshot(organizer, 'journey-hi-events-setup');
  });

  it('the visitor sees “Configuration in progress” without reloading', async () => {
    await expect.poll(() => widgetStatus(visitor)).toBe('setup');
    await screenshot(visitor, 'journey-visitor-setup');
  });

  it('the organizer adds a ticket type and publishes; the visitor’s widget turns active with the tickets', async () => {
    const onePrice = organizer.getByRole('form', { name: 'Add a ticket type with one price' });
    await onePrice.getByLabel('Name').fill('General admission');
    await onePrice.getByLabel('Price').fill('25');
    await onePrice.getByRole('button', { name: 'Add ticket type' }).click();
    await organizer.getByRole('button', { name: 'Publish' }).click();
    await organizer.waitForURL(/notice=published/);

    await expect.poll(() => widgetStatus(visitor)).toBe('active');
    await visitor.getByRole('region', { name: 'Tickets', exact: true }).scrollIntoViewIfNeeded();
    await expect.poll(() => visitor.frameLocator('iframe').getByText('General admission').count()).toBe(1);
    await screenshot(visitor, 'journey-visitor-active');
  });

  it('the organizer pauses sales; the visitor sees ticketing paused', async () => {
    await organizer.getByRole('button', { name: 'Pause sales (back to draft)' }).click();
    await organizer.waitForURL(/notice=paused/);

    await expect.poll(() => widgetStatus(visitor)).toBe('inactive');
    expect(await visitor.getByText('Ticketing is currently paused').isVisible()).toBe(true);
    await screenshot(visitor, 'journey-visitor-inactive');
  });

  it('back on Tuvens the organizer is offered to manage the tickets, and an attendee is offered nothing', async () => {
    await organizer.goto(`${stack.web.url}/event/1`);
    expect(await organizer.getByRole('button', { name: 'Manage tickets on Hi.Events' }).count()).toBe(1);

    const attendee = await (await stack.browser.newContext()).newPage();
    await signIn(attendee, stack, DEMO.attendee, '/event/1');
    expect(await attendee.getByRole('button', { name: /ticket/i }).count()).toBe(0);
  });
});
