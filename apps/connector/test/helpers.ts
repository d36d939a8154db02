import { Writable } from 'node:stream';
import { buildApp } from '@tuvens/api';
import { startTestApi, type TestApi } from '@tuvens/api/testing';
import { CROSS_APP_STATE_COOKIE } from '@tuvens/contracts';
import { openTestDatabase, type TestDatabase } from '@tuvens/database/testing';
import { loadEmulatorConfig, type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import { type Clock, systemClock } from '@tuvens/server';
import { freePort, eventually as waitUntil } from '@tuvens/testing';
import type { FastifyServerOptions } from 'fastify';
import { buildConnector, type Connector, type ConnectorDependencies } from '../src/app.ts';
import { type ConnectorConfig, loadConfig } from '../src/config.ts';
import { connectorMigrations } from '../src/database/migrations/index.ts';
import type { ConnectorDatabase } from '../src/database/schema.ts';

export type { TestApi };
export { freePort };

// biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
type AnyBody = any;

export interface TestResponse {
  status: number;
  body: AnyBody;
  headers: Headers;
}

/** Every log line a server wrote, for tests that prove what is never logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  /** A Fastify logger option that writes every line, at `info` and above, here. */
  logger(level = 'info') {
    return { level, stream: this };
  }
}

export interface TestConnector {
  connector: Connector;
  config: ConnectorConfig;
  database: TestDatabase<ConnectorDatabase>;
  url: string;
  request(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface StartTestConnectorOptions {
  tuvensApiUrl: string;
  hiEventsUrl: string;
  env?: Record<string, string>;
  clock?: Clock;
  fetch?: typeof fetch;
  logger?: ConnectorDependencies['logger'];
  /** Share an already open test database (a restart, or a second instance). */
  database?: TestDatabase<ConnectorDatabase>;
  /** Off by default: tests deliver and reconcile by calling `runOnce`, so that nothing races them. */
  runBackgroundJobs?: boolean;
  random?: (max: number) => number;
}

/** A real connector on a loopback port, over a fresh test database (PGlite, or PostgreSQL when `DATABASE_URL` is set). */
export async function startTestConnector(options: StartTestConnectorOptions): Promise<TestConnector> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    CONNECTOR_PUBLIC_URL: url,
    TUVENS_API_URL: options.tuvensApiUrl,
    HI_EVENTS_URL: options.hiEventsUrl,
    TUVENS_WEB_URL: 'http://127.0.0.1:3999',
    RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
    RATE_LIMIT_WEBHOOK_PER_MINUTE: '100000',
    TUVENS_API_TIMEOUT_MS: '2000',
    HI_EVENTS_TIMEOUT_MS: '2000',
    DELIVERY_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const ownsDatabase = !options.database;
  const database = options.database ?? (await openTestDatabase<ConnectorDatabase>(connectorMigrations));
  const connector = await buildConnector({
    config,
    database,
    clock: options.clock ?? systemClock,
    fetch: options.fetch,
    logger: options.logger ?? false,
    runBackgroundJobs: options.runBackgroundJobs ?? false,
    random: options.random,
  });
  await connector.app.listen({ host: '127.0.0.1', port });

  const running: TestConnector = {
    connector,
    config,
    database,
    url,
    request: (method, path, requestOptions) => sendJson(`${url}${path}`, method, requestOptions),
    async close() {
      // The connector running now, which a test may have restarted.
      await running.connector.app.close();
      if (ownsDatabase) await database.close();
    },
  };
  return running;
}

export async function startTestEmulator(
  options: { clock?: () => Date; logger?: unknown; env?: Record<string, string> } = {},
): Promise<RunningEmulator> {
  return startEmulator({
    config: loadEmulatorConfig({ NODE_ENV: 'test', EMULATOR_PORT: '0', ...options.env }),
    port: 0,
    host: '127.0.0.1',
    clock: options.clock,
    logger: (options.logger ?? false) as false,
  });
}

/** Sends JSON (or a raw string) and answers the status, parsed body and headers. */
export async function sendJson(
  url: string,
  method: string,
  { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}

/**
 * A real tuvens-api whose log lines are captured: `startTestApi` runs it silent, so this starts one
 * the same way and swaps in a server that logs to `logs` (with the API's own redaction settings).
 */
export async function startApiWithLogs(logs: LogCapture): Promise<TestApi> {
  const base = await startTestApi();
  await base.app.close();
  const app = await buildApp({ config: base.config, database: base.database, logger: logs.logger('debug') });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return withApiServer(base, app, url);
}

/**
 * Brings a stopped tuvens-api back on the same address and database, as a restart would; answers
 * the running API, whose `close` also closes the database.
 */
export async function restartApi(api: TestApi, options: { clock?: Clock } = {}): Promise<TestApi> {
  const app = await buildApp({
    config: api.config,
    database: api.database,
    clock: options.clock,
    logger: false,
  });
  const url = await app.listen({ host: '127.0.0.1', port: Number(new URL(api.url).port) });
  return withApiServer(api, app, url);
}

function withApiServer(base: TestApi, app: TestApi['app'], url: string): TestApi {
  const request: TestApi['request'] = (method, path, options) => sendJson(`${url}${path}`, method, options);
  return {
    ...base,
    app,
    url,
    request,
    async login(email) {
      const { status, body } = await request('POST', '/api/auth/login', {
        body: { email, password: 'tuvens-demo' },
      });
      if (status !== 200) throw new Error(`login of ${email} failed with ${status}`);
      return body.token as string;
    },
    async close() {
      await app.close();
      await base.database.close();
    },
  };
}

/** The whole stack of the handshake: a real tuvens-api, the Hi.Events emulator and the connector. */
export interface TestStack {
  api: TestApi;
  emulator: RunningEmulator;
  connector: TestConnector;
  /** The organizer's JWT on tuvens-api. */
  organizer: string;
  /**
   * Starts a sign-in at the connector as a browser does (`/auth/cross-app/start`), and answers the
   * state cookie it set and the challenge and state it sent on to Tuvens.
   */
  startSignIn(eventId?: number): Promise<SignInStart>;
  /**
   * Asks tuvens-api for a cross-app session token as the web app's server route does: bound to a
   * sign-in started at the connector, which `signIn` then completes as that browser.
   */
  generateSessionToken(eventId?: number, jwt?: string): Promise<string>;
  /** Asks tuvens-api for a session without a code challenge, as an API client may. */
  generateUnboundSessionToken(eventId?: number, jwt?: string): Promise<string>;
  /** Asks tuvens-api for a session bound to `codeChallenge`, as the web app does for a browser's sign-in. */
  generateSessionTokenFor(codeChallenge: string, eventId?: number, jwt?: string): Promise<string>;
  /**
   * Posts a token to the connector's sign-in as the landing page's script does, with the state and
   * cookie of the browser that started it when it came from `generateSessionToken`.
   */
  signIn(sessionToken: string, eventId?: number, extra?: Record<string, unknown>): Promise<TestResponse>;
  close(): Promise<void>;
}

/** What `/auth/cross-app/start` gave a browser. */
export interface SignInStart {
  /** The `Cookie` header value that carries the state cookie back. */
  cookie: string;
  state: string;
  codeChallenge: string;
  eventId: number;
}

export async function startTestStack(
  options: {
    api?: TestApi;
    /** One clock for all three servers, so that they agree on "now" when a test moves it. */
    clock?: Clock;
    emulatorLogger?: FastifyServerOptions['logger'];
    /** The emulator's settings, e.g. `EMULATOR_HI_EVENTS_VERSION`. */
    emulatorEnv?: Record<string, string>;
    /** The emulator's clock, when it must differ from the others' (clock skew). */
    emulatorClock?: Clock;
    connector?: Partial<StartTestConnectorOptions>;
  } = {},
): Promise<TestStack> {
  const api = options.api ?? (await startTestApi({ clock: options.clock }));
  const emulator = await startTestEmulator({
    clock: options.emulatorClock ?? options.clock,
    logger: options.emulatorLogger,
    env: options.emulatorEnv,
  });
  const connector = await startTestConnector({
    tuvensApiUrl: api.url,
    hiEventsUrl: emulator.url,
    clock: options.clock,
    ...options.connector,
  });
  const organizer = await api.login('organizer@tuvens.test');
  /** The sign-in each bound token was generated for, as the browser that started it keeps it. */
  const started = new Map<string, SignInStart>();
  const generate = async (eventId: number, jwt: string, codeChallenge?: string) => {
    const generated = await stack.api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId, appId: 'hi-events', ...(codeChallenge ? { codeChallenge } : {}) },
      headers: { authorization: `Bearer ${jwt}` },
    });
    if (generated.status !== 200) throw new Error(`generate-session answered ${generated.status}`);
    return generated.body.session_token as string;
  };
  const stack: TestStack = {
    api,
    emulator,
    connector,
    organizer,
    startSignIn: (eventId = 1) => startSignIn(connector, eventId),
    async generateSessionToken(eventId = 1, jwt = organizer) {
      const start = await stack.startSignIn(eventId);
      const token = await generate(eventId, jwt, start.codeChallenge);
      started.set(token, start);
      return token;
    },
    generateUnboundSessionToken(eventId = 1, jwt = organizer) {
      return generate(eventId, jwt);
    },
    generateSessionTokenFor(codeChallenge, eventId = 1, jwt = organizer) {
      return generate(eventId, jwt, codeChallenge);
    },
    signIn(sessionToken, linkedEventId, extra = {}) {
      const start = started.get(sessionToken);
      const eventId = linkedEventId ?? start?.eventId ?? 1;
      return connector.request('POST', '/auth/cross-app/validate', {
        body: {
          session_token: sessionToken,
          event_id: String(eventId),
          ...(start ? { state: start.state } : {}),
          ...extra,
        },
        headers: { origin: connector.config.publicOrigin, ...(start ? { cookie: start.cookie } : {}) },
      });
    },
    async close() {
      await connector.close();
      await emulator.close();
      // The API running now, which a test may have restarted.
      await stack.api.close();
    },
  };
  return stack;
}

/** Starts a sign-in at the connector as a browser does (`/auth/cross-app/start`). */
export async function startSignIn(connector: TestConnector, eventId = 1): Promise<SignInStart> {
  const started = await connector.request('GET', `/auth/cross-app/start?event_id=${eventId}`);
  if (started.status !== 303) throw new Error(`/auth/cross-app/start answered ${started.status}`);
  const authorize = new URL(started.headers.get('location')!);
  const cookie = cookiesOf(started.headers)[CROSS_APP_STATE_COOKIE];
  if (!cookie) throw new Error('/auth/cross-app/start set no state cookie');
  return {
    cookie: `${CROSS_APP_STATE_COOKIE}=${cookie.value}`,
    state: authorize.searchParams.get('state')!,
    codeChallenge: authorize.searchParams.get('code_challenge')!,
    eventId,
  };
}

/** The `name=value` pairs of a response's `Set-Cookie` headers. */
export function cookiesOf(headers: Headers): Record<string, { value: string; attributes: string }> {
  const cookies: Record<string, { value: string; attributes: string }> = {};
  for (const line of headers.getSetCookie()) {
    const [pair = '', ...attributes] = line.split(';');
    const index = pair.indexOf('=');
    cookies[pair.slice(0, index).trim()] = {
      value: pair.slice(index + 1).trim(),
      attributes: attributes.join(';'),
    };
  }
  return cookies;
}

/** Waits until `check` holds, polling; for conditions that a background job brings about. */
export function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  return waitUntil(check, { timeoutMs });
}
