import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEMO_PASSWORD,
  enableTicketing,
  sendStatusWebhook,
  signStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from '@tuvens/api/testing';
import { TICKET_SUMMARY_WEBHOOK_PATH, type TicketingStatus, type TicketSummary } from '@tuvens/contracts';
import { loadEmulatorConfig, type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import { freePort, launchChromium, type ServiceProcess, startService } from '@tuvens/testing';
import type { Browser, Page } from 'playwright-core';

/**
 * The real system for browser tests: tuvens-api (`startTestApi`), the Hi.Events emulator, the connector
 * when asked for, and the built web app as its own process, all on free loopback ports.
 */

export { HAS_CHROMIUM } from '@tuvens/testing';
export const WEB_DIR = join(import.meta.dirname, '..');
export const RESULTS_DIR = join(WEB_DIR, 'test-results');
const REPO_ROOT = join(WEB_DIR, '../..');

export const DEMO = {
  organizer: 'organizer@tuvens.test',
  member: 'member@tuvens.test',
  attendee: 'attendee@tuvens.test',
  password: DEMO_PASSWORD,
};

interface ChildServer {
  url: string;
  stop(): Promise<void>;
}

/** Runs a Node entry point of the repository as its own process, as `npm start` does. */
async function startChild(
  name: string,
  entry: string,
  cwd: string,
  url: string,
  healthPath: string,
  env: Record<string, string>,
): Promise<ChildServer> {
  const service: ServiceProcess = await startService({
    name,
    script: entry,
    cwd,
    env: { LOG_LEVEL: 'warn', ...env },
    readyUrl: `${url}${healthPath}`,
  });
  return { url, stop: () => service.stop() };
}

export interface Stack {
  api: TestApi;
  web: ChildServer;
  hiEvents: RunningEmulator | undefined;
  hiEventsUrl: string;
  connector: ChildServer | undefined;
  crossAppUrl: string;
  browser: Browser;
  stopHiEvents(): Promise<void>;
  close(): Promise<void>;
}

/** Starts everything; the connector only when asked for. */
export async function startStack(
  options: {
    connector?: boolean;
    /** Whether to launch Chromium (true by default); tests of the web server over HTTP need none. */
    browser?: boolean;
    /** Environment of tuvens-api and of the web server on top of the test defaults. */
    apiEnv?: Record<string, string>;
    webEnv?: Record<string, string>;
  } = {},
): Promise<Stack> {
  const [webPort, hiEventsPort, connectorPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const webUrl = `http://127.0.0.1:${webPort}`;
  const hiEventsUrl = `http://127.0.0.1:${hiEventsPort}`;
  const crossAppUrl = `http://127.0.0.1:${connectorPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'tuvens-web-e2e-'));

  const api = await startTestApi({
    env: { WEB_URL: webUrl, HI_EVENTS_URL: crossAppUrl, ...options.apiEnv },
  });
  let hiEvents: RunningEmulator | undefined = await startEmulator({
    config: loadEmulatorConfig({
      NODE_ENV: 'test',
      EMULATOR_PORT: String(hiEventsPort),
      EMULATOR_PUBLIC_URL: hiEventsUrl,
    }),
    host: '127.0.0.1',
    logger: false,
  });
  const connector = options.connector
    ? await startChild(
        'connector',
        join(REPO_ROOT, 'apps/connector/src/main.ts'),
        join(REPO_ROOT, 'apps/connector'),
        crossAppUrl,
        '/readyz',
        {
          NODE_ENV: 'test',
          CONNECTOR_PORT: String(connectorPort),
          CONNECTOR_PUBLIC_URL: crossAppUrl,
          CONNECTOR_DATA_DIR: join(dataDir, 'connector'),
          TUVENS_API_URL: api.url,
          TUVENS_WEB_URL: webUrl,
          HI_EVENTS_URL: hiEventsUrl,
          DELIVERY_POLL_INTERVAL_MS: '100',
          DELIVERY_BACKOFF_BASE_MS: '200',
        },
      )
    : undefined;
  const web = await startChild('web', join(WEB_DIR, 'build/index.js'), WEB_DIR, webUrl, '/', {
    HOST: '127.0.0.1',
    PORT: String(webPort),
    PUBLIC_API_BASE_URL: api.url,
    PUBLIC_HI_EVENTS_URL: hiEventsUrl,
    PUBLIC_CROSS_APP_URL: crossAppUrl,
    ...options.webEnv,
  });
  const browser = options.browser === false ? undefined : await launchChromium();

  const stopHiEvents = async () => {
    await hiEvents?.close();
    hiEvents = undefined;
  };
  return {
    api,
    web,
    get hiEvents() {
      return hiEvents;
    },
    hiEventsUrl,
    connector,
    crossAppUrl,
    get browser() {
      if (!browser) throw new Error('this stack was started without a browser');
      return browser;
    },
    stopHiEvents,
    async close() {
      await browser?.close();
      await web.stop();
      await connector?.stop();
      await stopHiEvents();
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A published event with one ticket type in the emulated Hi.Events; answers its id and public URL. */
export function publishHiEventsEvent(stack: Stack, title: string): { id: number; url: string } {
  const store = stack.hiEvents!.store;
  const { account, user } = store.register({
    first_name: 'Test',
    last_name: 'Organizer',
    email: `organizer-${Date.now()}-${Math.random().toString(36).slice(2)}@hi-events.test`,
    password: 'correct horse battery',
    password_confirmation: 'correct horse battery',
  });
  const actor = { userId: user.id, accountId: account.id };
  const organizer = store.createOrganizer(actor, {
    name: 'Tuvens Demo Events',
    email: 'events@tuvens.test',
    timezone: 'UTC',
    currency: 'EUR',
  });
  const startsAt = new Date(Date.now() + 14 * 24 * 60 * 60 * 1000);
  const event = store.createEvent(actor, {
    title,
    start_date: startsAt.toISOString(),
    end_date: new Date(startsAt.getTime() + 4 * 60 * 60 * 1000).toISOString(),
    organizer_id: organizer.id,
  });
  store.createProduct(actor, event.id, {
    title: 'General admission',
    type: 'PAID',
    product_type: 'TICKET',
    prices: [{ price: 25 }],
  });
  store.updateEventStatus(actor, event.id, 'LIVE');
  return { id: event.id, url: `${stack.hiEventsUrl}/event/${event.id}/${store.slugOf(event)}` };
}

/**
 * Moves a Tuvens event's ticketing as the connector would: a signed status webhook to tuvens-api. A
 * first link (`setup`) comes after what the organizer's "Enable ticketing" does, as it always does.
 */
export async function reportStatus(
  stack: Stack,
  tuvensEventId: number,
  status: TicketingStatus,
  hiEvents: { id: number; url: string } | null,
): Promise<void> {
  if (status === 'setup') await enableTicketing(stack.api.database.db, tuvensEventId);
  const answer = await sendStatusWebhook(
    stack.api,
    statusWebhook({
      tuvens_event_id: tuvensEventId,
      status,
      hi_events_event_id: hiEvents?.id ?? null,
      hi_events_event_url: hiEvents?.url ?? null,
    }),
  );
  if (answer.status !== 200 || !answer.body.applied) {
    throw new Error(
      `status ${status} for event ${tuvensEventId} was not applied: ${JSON.stringify(answer.body)}`,
    );
  }
}

export async function signIn(page: Page, stack: Stack, email: string, path = '/'): Promise<void> {
  await page.goto(`${stack.web.url}/login?redirectTo=${encodeURIComponent(path)}`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(DEMO.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.web.url}${path}`);
}

/** Saves a full-page screenshot with the test results. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`), fullPage: true });
}

/** Whether the page is wider than its viewport, so that it scrolls sideways. */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

let summariesSent = 0;

/** What the connector sends when an event's tickets change: a signed ticket summary webhook. */
export async function reportSummary(
  stack: Stack,
  tuvensEventId: number,
  hiEventsEventId: number,
  summary: TicketSummary,
): Promise<void> {
  const body = JSON.stringify({
    id: `whmsg_e2e_summary_${process.pid}_${++summariesSent}`,
    type: 'event.ticket_summary_changed',
    occurred_at: new Date().toISOString(),
    data: { tuvens_event_id: tuvensEventId, hi_events_event_id: hiEventsEventId, summary },
  });
  const answer = await stack.api.request('POST', TICKET_SUMMARY_WEBHOOK_PATH, {
    body,
    headers: signStatusWebhook(body),
  });
  if (answer.status !== 200 || !answer.body.applied) {
    throw new Error(`the summary for event ${tuvensEventId} was not applied: ${JSON.stringify(answer.body)}`);
  }
}

/**
 * A public event the demo organizer created `daysAhead` days ahead, linked to a published Hi.Events
 * event and active, with `summary` reported: tickets on sale as the connector would describe them.
 */
export async function eventOnSale(
  stack: Stack,
  options: { titlePrefix: string; daysAhead: number; summary: TicketSummary },
): Promise<{ eventId: number; hiEventsId: number; title: string }> {
  const token = await stack.api.login(DEMO.organizer);
  const startsAt = new Date(Date.now() + options.daysAhead * 24 * 60 * 60 * 1000);
  const title = `${options.titlePrefix} ${Math.random().toString(36).slice(2, 7)}`;
  const created = await stack.api.request('POST', '/api/events', {
    headers: { authorization: `Bearer ${token}` },
    body: {
      title,
      starts_at: startsAt.toISOString(),
      ends_at: new Date(startsAt.getTime() + 3 * 60 * 60 * 1000).toISOString(),
    },
  });
  const eventId = created.body.id as number;
  const hiEvents = publishHiEventsEvent(stack, title);
  await reportStatus(stack, eventId, 'setup', hiEvents);
  await reportStatus(stack, eventId, 'active', hiEvents);
  await reportSummary(stack, eventId, hiEvents.id, options.summary);
  return { eventId, hiEventsId: hiEvents.id, title };
}
