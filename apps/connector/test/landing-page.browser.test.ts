import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testDatabaseKind } from '@tuvens/database/testing';
import { HAS_CHROMIUM, launchChromium } from '@tuvens/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers.ts';

describe.skipIf(!HAS_CHROMIUM)(`the landing page in a real browser (${testDatabaseKind})`, () => {
  let stack: TestStack;
  let browser: Browser;

  /** A fresh tab that records what it sends and any error it logs (a CSP violation among them). */
  const openTab = async () => {
    const page = await browser.newPage();
    const requests: { url: string; method: string; body: string | null; referer: string | undefined }[] = [];
    const problems: string[] = [];
    page.on('request', (request) =>
      requests.push({
        url: request.url(),
        method: request.method(),
        body: request.postData(),
        referer: request.headers().referer,
      }),
    );
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    return { page, requests, problems };
  };
  const landing = (token: string, eventId = 1) =>
    `${stack.connector.url}/auth/cross-app#session_token=${encodeURIComponent(token)}&event_id=${eventId}`;
  const readStatus = (page: Page) => page.locator('#status').textContent();

  /** The tokens the stand-in for the web app minted, newest last. */
  const minted: string[] = [];
  /**
   * A stand-in for the web app's `/cross-app/authorize`, answering as it does for a signed-in
   * organizer: a session bound to the challenge, and on to the landing with token and state.
   */
  const tuvensWeb = createServer((request, response) => {
    const asked = new URL(request.url ?? '/', 'http://tuvens.test').searchParams;
    const eventId = Number(asked.get('event_id'));
    stack.generateSessionTokenFor(asked.get('code_challenge') ?? '', eventId).then(
      (token) => {
        minted.push(token);
        const fragment = new URLSearchParams({
          session_token: token,
          event_id: String(eventId),
          state: asked.get('state') ?? '',
        });
        response.writeHead(303, { location: `${stack.connector.url}/auth/cross-app#${fragment}` }).end();
      },
      () => response.writeHead(500).end(),
    );
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => tuvensWeb.listen(0, '127.0.0.1', resolve));
    const { port } = tuvensWeb.address() as AddressInfo;
    stack = await startTestStack({ connector: { env: { TUVENS_WEB_URL: `http://127.0.0.1:${port}` } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    tuvensWeb.close();
  });

  it('takes the person from the Tuvens link to the event’s ticket set-up in Hi.Events, signed in', async () => {
    const { page, requests, problems } = await openTab();
    await page.goto(`${stack.connector.url}/auth/cross-app/start?event_id=1`);
    await page.waitForURL(/\/manage\/event\/\d+\/products$/);
    const token = minted.at(-1)!;
    expect(new URL(page.url()).origin).toBe(new URL(stack.emulator.url).origin);
    await expect(page.locator('h1').textContent()).resolves.toBe('Summer Concert in the Park');

    const validate = requests.find((request) => request.url.endsWith('/auth/cross-app/validate'))!;
    expect(validate.method).toBe('POST');
    expect(JSON.parse(validate.body!)).toEqual({
      session_token: token,
      event_id: '1',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(validate.referer ?? '').toBe('');
    // The token travelled in the fragment and the POST body only: never in a URL a server saw.
    expect(requests.filter((request) => request.url.includes(token))).toEqual([]);
    // Redirects and the replaced landing page leave no entries: the blank tab and the ticket set-up.
    expect(await page.evaluate(() => history.length)).toBe(2);
    expect(problems).toEqual([]);
    // The state cookie was for this one sign-in.
    expect((await page.context().cookies()).map((cookie) => cookie.name)).not.toContain(
      'tuvens_cross_app_state',
    );
    await page.close();
  });

  it('removes the token from the address bar at once, and says in plain words when the link was already used', async () => {
    const token = await stack.generateSessionToken(1);
    await stack.signIn(token);
    const { page, problems } = await openTab();
    await page.goto(landing(token));
    await expect.poll(() => page.locator('#title').textContent()).toBe('We could not open ticketing');
    expect(await readStatus(page)).toContain('This sign-in link was already used');
    expect(page.url()).toBe(`${stack.connector.url}/auth/cross-app`);
    expect(await page.evaluate(() => [location.hash, history.length])).toEqual(['', 2]);
    expect(await page.locator('#back-to-tuvens').getAttribute('href')).toBe(
      `${stack.connector.config.tuvens.webUrl}/event/1`,
    );
    expect(problems.filter((problem) => !problem.includes('401'))).toEqual([]);
    // Back and forward again: the entry history kept is the address without the token.
    await page.goBack();
    await page.goForward();
    expect(page.url()).toBe(`${stack.connector.url}/auth/cross-app`);
    await page.close();
  });

  it('stops an unbound link at a confirmation naming whom it signs in as, using nothing until confirmed', async () => {
    const token = await stack.generateUnboundSessionToken(1);
    const { page, requests } = await openTab();
    await page.goto(landing(token));
    await expect.poll(() => page.locator('#title').textContent()).toBe('Check before you continue');
    const status = await readStatus(page);
    expect(status).toContain('Olivia Organizer (organizer@tuvens.test)');
    expect(status).toContain('Tuvens Demo Events');
    expect(status).toContain('Summer Concert in the Park');
    expect(await page.locator('#confirm-replaces').isHidden()).toBe(true);
    expect(requests.filter((request) => request.method === 'POST')).toHaveLength(1);
    const unused = await stack.api.database.db
      .selectFrom('crossAppSession')
      .select('consumed_at')
      .where('consumed_at', 'is', null)
      .execute();
    expect(unused.length).toBeGreaterThan(0);

    await page.locator('#confirm-button').click();
    await page.waitForURL(/\/manage\/event\/\d+\/products$/);
    const confirmed = requests.filter((request) => request.method === 'POST').at(-1)!;
    expect(JSON.parse(confirmed.body!)).toMatchObject({ session_token: token, confirmed: true });
    await page.close();
  });

  it('says the link is not valid without asking anyone when it carries no token', async () => {
    const { page, requests } = await openTab();
    await page.goto(`${stack.connector.url}/auth/cross-app#event_id=2`);
    await expect.poll(() => readStatus(page)).toContain('This sign-in link is not valid');
    expect(requests.map((request) => request.method)).toEqual(['GET']);
    expect(await page.locator('#back-to-tuvens').getAttribute('href')).toBe(
      `${stack.connector.config.tuvens.webUrl}/event/2`,
    );
    await page.close();
  });
});
