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

  beforeAll(async () => {
    stack = await startTestStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('takes the person from the Tuvens link to the event’s ticket set-up in Hi.Events, signed in', async () => {
    const token = await stack.generateSessionToken(1);
    const { page, requests, problems } = await openTab();
    await page.goto(landing(token));
    await page.waitForURL(/\/manage\/event\/\d+\/products$/);
    expect(new URL(page.url()).origin).toBe(new URL(stack.emulator.url).origin);
    await expect(page.locator('h1').textContent()).resolves.toBe('Summer Concert in the Park');

    const validate = requests.find((request) => request.url.endsWith('/auth/cross-app/validate'))!;
    expect(validate.method).toBe('POST');
    expect(JSON.parse(validate.body!)).toEqual({ session_token: token, event_id: '1' });
    expect(validate.referer ?? '').toBe('');
    // The token travelled in the fragment and the POST body only: never in a URL a server saw.
    expect(requests.filter((request) => request.url.includes(token))).toEqual([]);
    // The landing page was replaced: history holds the blank tab and the ticket set-up, nothing between.
    expect(await page.evaluate(() => history.length)).toBe(2);
    expect(problems).toEqual([]);
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
