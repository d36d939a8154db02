/**
 * The Hi.Events side as separate processes: the Hi.Events emulator and the connector, wired to a
 * tuvens-api under test; and an organizer enabling ticketing on an event the way a browser does it.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CROSS_APP_STATE_COOKIE, HI_EVENTS_TOKEN_COOKIE } from '@tuvens/contracts';
import { freePort, waitForHttp } from '@tuvens/testing';
import type { BenchDatabase } from './database.ts';
import { assertLoopback } from './http-client.ts';
import { type NodeChild, startNodeChild } from './processes.ts';
import { ROOT, SECRETS } from './setup.ts';

/** The Hi.Events side's own secrets, made anew for each run like those in `SECRETS`. */
const HI_EVENTS_SIDE_SECRETS = {
  /** Hi.Events' `JWT_SECRET`, which the connector shares to sign people in. */
  jwt: randomBytes(32).toString('base64url'),
  encryption: randomBytes(32).toString('base64url'),
  ops: randomBytes(32).toString('base64url'),
} as const;

export interface ServerChild extends NodeChild {
  readonly url: string;
}

async function startServer(
  script: string,
  name: string,
  url: string,
  env: Record<string, string>,
  health: string,
): Promise<ServerChild> {
  const child = startNodeChild(join(ROOT, script), { env, name, profile: true });
  try {
    await waitForHttp(child, `${url}${health}`, { accept: (status) => status < 300 });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url };
}

/**
 * The Hi.Events emulator, its state in memory. Its per-user API limit (Hi.Events'
 * `APP_API_RATE_LIMIT_PER_MINUTE`) is `apiRateLimitPerMinute`, by default out of the way of the set-up.
 */
export async function startHiEventsEmulator(
  options: { apiRateLimitPerMinute?: number; env?: Record<string, string> } = {},
): Promise<ServerChild> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return startServer(
    'packages/hi-events-emulator/src/main.ts',
    'emulator',
    url,
    {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      EMULATOR_PORT: String(port),
      EMULATOR_PUBLIC_URL: url,
      HI_EVENTS_JWT_SECRET: HI_EVENTS_SIDE_SECRETS.jwt,
      EMULATOR_API_RATE_LIMIT_PER_MINUTE: String(options.apiRateLimitPerMinute ?? 1_000_000),
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    '/healthz',
  );
}

export interface ConnectorServer extends ServerChild {
  /** Stops the connector and deletes its PGlite folder, if it had one. */
  stop(): Promise<void>;
}

/**
 * The connector from apps/connector/src/main.ts, with every background job running. On PostgreSQL it
 * shares the bench database with tuvens-api (each keeps its own tables); on PGlite it has a folder of
 * its own. It runs as `development`, since production insists on https addresses, but with explicit
 * secrets, so none of the published development values is in use.
 */
export async function startConnector(
  database: BenchDatabase,
  options: { apiUrl: string; hiEventsUrl: string; env?: Record<string, string> },
): Promise<ConnectorServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = database.url ? undefined : mkdtempSync(join(tmpdir(), 'tuvens-bench-connector-'));
  const removeDataDir = () => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let server: ServerChild;
  try {
    server = await startServer(
      'apps/connector/src/main.ts',
      'connector',
      url,
      {
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        CONNECTOR_PORT: String(port),
        CONNECTOR_PUBLIC_URL: url,
        ...(database.url ? { DATABASE_URL: database.url } : { CONNECTOR_DATA_DIR: dataDir! }),
        TUVENS_API_URL: options.apiUrl,
        TUVENS_WEB_URL: 'http://127.0.0.1:3000',
        HI_EVENTS_URL: options.hiEventsUrl,
        CROSS_APP_SHARED_SECRET: SECRETS.crossApp,
        HI_EVENTS_SHARED_SECRET: SECRETS.hiEvents,
        HI_EVENTS_JWT_SECRET: HI_EVENTS_SIDE_SECRETS.jwt,
        CONNECTOR_ENCRYPTION_KEY: HI_EVENTS_SIDE_SECRETS.encryption,
        CONNECTOR_OPS_TOKEN: HI_EVENTS_SIDE_SECRETS.ops,
        RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      '/readyz',
    );
  } catch (error) {
    removeDataDir();
    throw error;
  }
  return {
    ...server,
    async stop() {
      await server.stop();
      removeDataDir();
    },
  };
}

/** The `name=value` pairs of an answer's `Set-Cookie` headers. */
function cookiesOf(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]!;
    const index = pair.indexOf('=');
    cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
  }
  return cookies;
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status) {
    throw new Error(`${what}: ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
}

export interface TicketingEnabled {
  hiEventsEventId: number;
  /** The `Cookie` header that signs the organizer in to Hi.Events, as the connector set it. */
  hiEventsCookie: string;
}

/**
 * Enables ticketing on a Tuvens event as the organizer's browser does (README, "Cross-app sign-in"):
 * the connector's `/auth/cross-app/start` sets the state cookie and names the PKCE challenge;
 * tuvens-api's `generate-session` issues a session bound to it for the organizer's JWT; the landing
 * page's post to `/auth/cross-app/validate` consumes it, and the connector creates and links the
 * Hi.Events event and signs the organizer in to Hi.Events.
 */
export async function enableTicketingThroughConnector(options: {
  apiUrl: string;
  connectorUrl: string;
  jwt: string;
  tuvensEventId: number;
}): Promise<TicketingEnabled> {
  const connector = assertLoopback(options.connectorUrl).origin;
  const api = assertLoopback(options.apiUrl).origin;
  const started = await fetch(`${connector}/auth/cross-app/start?event_id=${options.tuvensEventId}`, {
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await expectStatus(started, 303, 'the connector’s /auth/cross-app/start');
  const authorize = new URL(started.headers.get('location')!);
  const stateCookie = cookiesOf(started).get(CROSS_APP_STATE_COOKIE);
  if (!stateCookie) throw new Error('/auth/cross-app/start set no state cookie');

  const generated = await fetch(`${api}/api/cross-app/generate-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.jwt}` },
    body: JSON.stringify({
      eventId: options.tuvensEventId,
      appId: 'hi-events',
      codeChallenge: authorize.searchParams.get('code_challenge'),
    }),
    signal: AbortSignal.timeout(10_000),
  });
  await expectStatus(generated, 200, 'tuvens-api’s generate-session');
  const { session_token } = (await generated.json()) as { session_token: string };

  const validated = await fetch(`${connector}/auth/cross-app/validate`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: connector,
      cookie: `${CROSS_APP_STATE_COOKIE}=${stateCookie}`,
    },
    body: JSON.stringify({
      session_token,
      event_id: String(options.tuvensEventId),
      state: authorize.searchParams.get('state'),
    }),
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  await expectStatus(validated, 200, 'the connector’s /auth/cross-app/validate');
  const { hi_events_event_id } = (await validated.json()) as { hi_events_event_id: number };
  const token = cookiesOf(validated).get(HI_EVENTS_TOKEN_COOKIE);
  if (!token) throw new Error('the connector did not sign the organizer in to Hi.Events');
  return { hiEventsEventId: hi_events_event_id, hiEventsCookie: `${HI_EVENTS_TOKEN_COOKIE}=${token}` };
}

/** Adds a ticket type to a Hi.Events event as the organizer (Hi.Events' `POST /events/{id}/products`). */
export async function createTicketType(
  emulatorUrl: string,
  ticketing: TicketingEnabled,
  product: { title: string; price: number; quantity: number },
): Promise<number> {
  const origin = assertLoopback(emulatorUrl).origin;
  const created = await fetch(`${origin}/api/events/${ticketing.hiEventsEventId}/products`, {
    method: 'POST',
    headers: {
      cookie: ticketing.hiEventsCookie,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: JSON.stringify({
      title: product.title,
      type: 'PAID',
      product_type: 'TICKET',
      // The event's one product category: the emulator numbers it as the event.
      product_category_id: ticketing.hiEventsEventId,
      prices: [{ price: product.price, initial_quantity_available: product.quantity }],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  await expectStatus(created, 201, 'creating a ticket type');
  return ((await created.json()) as { data: { id: number } }).data.id;
}

/** Publishes a Hi.Events event as the organizer does on its page (status LIVE). */
export async function publishHiEventsEvent(emulatorUrl: string, ticketing: TicketingEnabled): Promise<void> {
  const origin = assertLoopback(emulatorUrl).origin;
  const published = await fetch(`${origin}/manage/event/${ticketing.hiEventsEventId}/status`, {
    method: 'POST',
    headers: {
      cookie: ticketing.hiEventsCookie,
      origin,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'status=LIVE',
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await expectStatus(published, 303, 'publishing the Hi.Events event');
}
