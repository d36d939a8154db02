import { NO_TICKETS } from '@tuvens/contracts';
import axe from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventOnSale, HAS_CHROMIUM, type Stack, startStack } from './stack.ts';

/** Every WCAG 2.x A and AA rule axe-core has, and its best practices. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

const VIEWPORTS = [
  { name: 'phone', width: 375, height: 740 },
  { name: 'desktop', width: 1280, height: 800 },
] as const;

interface Violation {
  rule: string;
  impact: string | null | undefined;
  targets: string[];
}

/**
 * What anyone may open — the event page of a public event on sale, the events list, the sign-in page —
 * checked in a real browser for what a person or a search engine meets first.
 */
describe.skipIf(!HAS_CHROMIUM)('public pages in a real browser', () => {
  let stack: Stack;
  let eventPath: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    stack = await startStack();
    const { eventId } = await eventOnSale(stack, {
      titlePrefix: 'Dockside Jazz',
      daysAhead: 10,
      summary: {
        ...NO_TICKETS,
        currency: 'EUR',
        lowest_price: 25,
        highest_price: 25,
        sales_state: 'on_sale',
      },
    });
    eventPath = `/event/${eventId}`;
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  /**
   * A fresh anonymous page that keeps every console error, uncaught exception and failed request, and
   * the address of every request that has settled (answered or failed).
   */
  async function openPage(viewport: {
    width: number;
    height: number;
  }): Promise<{ page: Page; errors: string[]; settled: Set<string> }> {
    const context = await stack.browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    const settled = new Set<string>();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('requestfinished', (request) => settled.add(new URL(request.url()).pathname));
    page.on('requestfailed', (request) => {
      settled.add(new URL(request.url()).pathname);
      errors.push(`${request.url()}: ${request.failure()?.errorText}`);
    });
    return { page, errors, settled };
  }

  /** axe-core over the page itself; the Hi.Events widget inside its iframe is Hi.Events' own page. */
  async function axeViolations(page: Page): Promise<Violation[]> {
    // Evaluated through the DevTools protocol, which the page's CSP does not govern, as Lighthouse does.
    await page.evaluate(axe.source);
    const results = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, iframes: false }),
      AXE_TAGS,
    );
    return results.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  }

  /** The page's canonical address; its scheme is adapter-node's (`ORIGIN`), which this stack does not set. */
  const canonical = (path: string) =>
    new RegExp(`^https?://${new URL(stack.web.url).host.replaceAll('.', '\\.')}${path}$`);

  async function headOf(page: Page): Promise<{ description: string | null; canonical: string | null }> {
    return {
      description: await page.locator('meta[name="description"]').getAttribute('content'),
      canonical: await page.locator('link[rel="canonical"]').getAttribute('href'),
    };
  }

  for (const viewport of VIEWPORTS) {
    it(`the event page with its ticket widget shown (${viewport.name}): no axe violation, no console error`, async () => {
      const { page, errors, settled } = await openPage(viewport);
      await page.goto(`${stack.web.url}${eventPath}`);
      // The widget loads once its place is on screen.
      await page.locator('section.ticketing').evaluate((section) => section.scrollIntoView());
      await expect.poll(() => page.locator('iframe[aria-busy="false"]').count()).toBe(1);
      // The widget's load report goes to tuvens-api, another origin: it must not be refused either.
      await expect.poll(() => settled.has('/api/telemetry/widget-load')).toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      const head = await headOf(page);
      expect(head.description).toContain('€25');
      expect(head.canonical).toMatch(canonical(eventPath));
    });

    it(`the events list (${viewport.name}): no axe violation, no console error, a description`, async () => {
      const { page, errors } = await openPage(viewport);
      await page.goto(stack.web.url);
      await expect.poll(() => page.getByTestId('ticket-summary').first().textContent()).toBeTruthy();
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      const head = await headOf(page);
      expect(head.description?.length).toBeGreaterThan(50);
      expect(head.canonical).toMatch(canonical('/'));
    });

    it(`the sign-in page (${viewport.name}): no axe violation, no console error, one canonical address`, async () => {
      const { page, errors } = await openPage(viewport);
      await page.goto(`${stack.web.url}/login?redirectTo=${encodeURIComponent(eventPath)}`);
      await page.getByLabel('Email address').waitFor();
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      const head = await headOf(page);
      expect(head.description?.length).toBeGreaterThan(50);
      expect(head.canonical).toMatch(canonical('/login'));
    });
  }
});

declare global {
  interface Window {
    axe: typeof axe;
  }
}
