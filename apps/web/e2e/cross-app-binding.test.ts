import { addOrganizer, DEV_SHARED_SECRET } from '@tuvens/api/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, HAS_CHROMIUM, type Stack, screenshot, signIn, startStack } from './stack.ts';

/**
 * Login CSRF through the cross-app link: an organizer of another account makes a sign-in link for
 * their own event and sends someone else's browser to it. The link signs in only the browser that
 * started it; elsewhere it is refused (or, unbound, stops at a confirmation), and the other
 * person's Hi.Events sign-in stays theirs.
 */
describe.skipIf(!HAS_CHROMIUM)('a sign-in link completes only in the browser that started it', () => {
  let stack: Stack;
  let victim: BrowserContext;
  let attacker: BrowserContext;
  let attackerEvent: number;
  const NAVIGATION = { timeout: 15_000 };
  const SETUP_PAGE = () => new RegExp(`^${stack.hiEventsUrl}/manage/event/\\d+/products`);

  /** The connector's and Hi.Events' sign-in cookies of a browser, by name. */
  const signInCookies = async (context: BrowserContext) =>
    Object.fromEntries(
      (await context.cookies())
        .filter((cookie) => cookie.name === 'tuvens_connector_session' || cookie.name === 'token')
        .map((cookie) => [cookie.name, cookie.value]),
    );
  const isUnused = async (token: string) => {
    const response = await fetch(`${stack.api.url}/api/cross-app/describe-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shared-secret': DEV_SHARED_SECRET },
      body: JSON.stringify({ session_token: token }),
    });
    return response.status === 200;
  };
  /** A page on another site that only sends the browser on to `link`, as the attack does. */
  const visitAttackerPage = async (page: Page, link: string) => {
    await page.route('http://attacker.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><script>location.replace(${JSON.stringify(link)})</script>`,
      }),
    );
    await page.goto('http://attacker.test/prize');
  };

  beforeAll(async () => {
    stack = await startStack({ connector: true });
    const other = await addOrganizer(stack.api.database.db, {
      email: 'mallory@elsewhere.test',
      name: 'Mallory Other',
      accountName: 'Mallory Events',
      eventTitle: 'Mallory’s Gala',
    });
    attackerEvent = other.eventId;
    victim = await stack.browser.newContext();
    attacker = await stack.browser.newContext();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('the organizer’s own click on “Enable ticketing” lands them signed in at Hi.Events', async () => {
    const page = await victim.newPage();
    await signIn(page, stack, DEMO.organizer, '/event/1');
    await page.getByRole('button', { name: 'Enable ticketing' }).click();
    await page.waitForURL(SETUP_PAGE(), NAVIGATION);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Summer Concert in the Park');
    expect(Object.keys(await signInCookies(victim)).sort()).toEqual(['token', 'tuvens_connector_session']);
    expect((await victim.cookies()).map((cookie) => cookie.name)).not.toContain('tuvens_cross_app_state');
    await page.close();
  });

  it('a link the attacker made in their own browser is refused in the victim’s, and changes nothing', async () => {
    // The attacker clicks "Enable ticketing" for their own event, but keeps the link instead of using it.
    const own = await attacker.newPage();
    await own.route(`${stack.crossAppUrl}/auth/cross-app/validate`, (route) => route.abort());
    let link: string | undefined;
    own.on('response', (response) => {
      if (response.url().startsWith(`${stack.web.url}/cross-app/authorize?`)) {
        link = response.headers().location;
      }
    });
    await own.goto(`${stack.web.url}/login?redirectTo=${encodeURIComponent(`/event/${attackerEvent}`)}`);
    await own.getByLabel('Email address').fill('mallory@elsewhere.test');
    await own.getByLabel('Password').fill(DEMO.password);
    await own.getByRole('button', { name: 'Sign in' }).click();
    await own.waitForURL(`${stack.web.url}/event/${attackerEvent}`);
    await own.getByRole('button', { name: 'Enable ticketing' }).click();
    await expect.poll(() => link, NAVIGATION).toMatch(/#session_token=/);
    const token = new URLSearchParams(new URL(link!).hash.slice(1)).get('session_token')!;

    const before = await signInCookies(victim);
    const page = await victim.newPage();
    await visitAttackerPage(page, link!);
    await expect
      .poll(() => page.locator('#title').textContent(), NAVIGATION)
      .toBe('We could not open ticketing');
    expect(await page.locator('#status').textContent()).toContain('started in another browser');
    await screenshot(page, 'cross-app-link-other-browser');
    expect(await signInCookies(victim)).toEqual(before);
    expect(await isUnused(token)).toBe(true);

    // The victim's Hi.Events sign-in is still their own.
    const session = await page.evaluate(async () => (await fetch('/auth/session')).json());
    expect(session.tuvens_event_id).toBe(1);
    await page.close();
  });

  it('an unbound link stops at a confirmation naming the attacker, and signs in no one', async () => {
    // An API client may make a session without a challenge; the link then carries no state.
    const login = await fetch(`${stack.api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'mallory@elsewhere.test', password: DEMO.password }),
    });
    const { token: jwt } = (await login.json()) as { token: string };
    const generated = await fetch(`${stack.api.url}/api/cross-app/generate-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ eventId: attackerEvent, appId: 'hi-events' }),
    });
    const { session_token: token } = (await generated.json()) as { session_token: string };
    const link = `${stack.crossAppUrl}/auth/cross-app#${new URLSearchParams({
      session_token: token,
      event_id: String(attackerEvent),
    })}`;

    const before = await signInCookies(victim);
    const page = await victim.newPage();
    await visitAttackerPage(page, link);
    await expect
      .poll(() => page.locator('#title').textContent(), NAVIGATION)
      .toBe('Check before you continue');
    const status = await page.locator('#status').textContent();
    expect(status).toContain('Mallory Other (mallory@elsewhere.test)');
    expect(status).toContain('Mallory Events');
    expect(status).toContain('Mallory’s Gala');
    expect(await page.locator('#confirm-replaces').isVisible()).toBe(true);
    await screenshot(page, 'cross-app-unbound-confirmation');
    expect(await signInCookies(victim)).toEqual(before);
    expect(await isUnused(token)).toBe(true);
    await page.close();
  });

  it('another site cannot make Tuvens mint a session by sending the browser to the connector’s start', async () => {
    const page = await victim.newPage();
    await visitAttackerPage(page, `${stack.crossAppUrl}/auth/cross-app/start?event_id=2`);
    await page.waitForURL(`${stack.web.url}/event/2?ticketing=start_here`, NAVIGATION);
    expect(await page.getByRole('alert').textContent()).toMatch(/opens only from this page/);
    await page.close();
  });
});
