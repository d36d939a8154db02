import {
  EVENT_UPDATES_PATH,
  type LoginResponse,
  STATUS_WEBHOOK_PATH,
  type StatusWebhook,
  type TicketingStatus,
  type TicketingStatusChanged,
} from '@tuvens/contracts';
import { signSeedSignature } from '@tuvens/contracts/signatures';
import { openDatabase } from '@tuvens/database';
import { openTestDatabase, type TestDatabase } from '@tuvens/database/testing';
import { type Clock, systemClock } from '@tuvens/server';
import { openUpdatesStream as openSseStream, type ReceivedMessage } from '@tuvens/testing';
import type { Kysely } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { createAccount } from '../src/accounts/memberships.ts';
import { buildApp } from '../src/app.ts';
import { type ApiConfig, loadConfig } from '../src/config.ts';
import { createSession } from '../src/cross-app/sessions.ts';
import { apiMigrations } from '../src/database/migrations/index.ts';
import type { ApiDatabase, TicketingChangeRow } from '../src/database/schema.ts';
import { DEMO_PASSWORD, seedDemoData } from '../src/demo/demo-data.ts';
import { createEvent } from '../src/events/events.ts';
import type { App } from '../src/http/context.ts';
import { createUser } from '../src/users/users.ts';

export { apiMigrations, DEMO_PASSWORD };
export const DEV_SHARED_SECRET = 'dev-cross-app-shared-secret-0123456789abcdef';
export const DEV_WEBHOOK_SECRET = 'dev-hi-events-shared-secret-0123456789abcdef';

export interface TestApi {
  app: App;
  config: ApiConfig;
  database: TestDatabase<ApiDatabase>;
  /** The base URL of the listening server, e.g. `http://127.0.0.1:43121`. */
  url: string;
  /** Signs a demo user in over HTTP and answers the JWT. */
  login(email: string): Promise<string>;
  /** Sends a JSON request to the server and answers the status and parsed body. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
    body: any;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

export interface StartTestApiOptions {
  /** Environment variables on top of the test defaults. */
  env?: Record<string, string>;
  clock?: Clock;
  /** Share an already open test database (for a second instance). */
  database?: TestDatabase<ApiDatabase>;
}

/**
 * A real tuvens-api for tests: a fresh migrated database (PGlite, or PostgreSQL when
 * `DATABASE_URL` is set) with the demo data, listening on an ephemeral loopback port.
 */
export async function startTestApi(options: StartTestApiOptions = {}): Promise<TestApi> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_CROSS_APP_PER_MINUTE: '100000',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    RATE_LIMIT_WEBHOOK_PER_MINUTE: '100000',
    ...options.env,
  });
  const clock = options.clock ?? systemClock;
  const ownsDatabase = !options.database;
  const database = options.database ?? (await openTestDatabase<ApiDatabase>(apiMigrations));
  await seedDemoData(database.db, clock());
  const app = await buildApp({ config, database, clock, logger: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  const request: TestApi['request'] = async (method, path, { body, headers = {} } = {}) => {
    const response = await fetch(`${address}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: response.status, body: parsed, headers: response.headers };
  };

  return {
    app,
    config,
    database,
    url: address,
    request,
    async login(email) {
      const { status, body } = await request('POST', '/api/auth/login', {
        body: { email, password: DEMO_PASSWORD },
      });
      if (status !== 200) throw new Error(`login of ${email} failed with ${status}`);
      return (body as LoginResponse).token;
    },
    async close() {
      await app.close();
      if (ownsDatabase) await database.close();
    },
  };
}

/**
 * Another API instance on the first one's database, with the same options otherwise. On PostgreSQL it
 * has its own connections, so it shares with the first only what goes through the database (changes
 * reach it only through LISTEN/NOTIFY); embedded PGlite lives in one process, so there the instances
 * share the database object and its in-process notifications.
 */
export async function startAnotherInstance(
  first: TestApi,
  options: Omit<StartTestApiOptions, 'database'> = {},
): Promise<TestApi> {
  const url = first.database.url;
  if (!url) return startTestApi({ ...options, database: first.database });
  const database = Object.assign(await openDatabase<ApiDatabase>({ url }), { url });
  const api = await startTestApi({ ...options, database });
  return {
    ...api,
    async close() {
      await api.close();
      await database.close();
    },
  };
}

export interface WebhookSigning {
  /** Which signatures to send; both by default, as the connector does. */
  scheme?: 'standard-webhooks' | 'seed' | 'both';
  secret?: string;
  /** The Standard Webhooks timestamp; now by default. */
  timestamp?: Date;
  /** The Standard Webhooks message id; the body's `id` by default. */
  messageId?: string;
}

/**
 * The signature headers of a raw webhook body: Standard Webhooks made by the `standardwebhooks`
 * package's own signer, and the seed's `x-hi-events-signature`.
 */
export function signStatusWebhook(rawBody: string, signing: WebhookSigning = {}): Record<string, string> {
  const { scheme = 'both', secret = DEV_WEBHOOK_SECRET, timestamp = new Date() } = signing;
  const headers: Record<string, string> = {};
  if (scheme !== 'seed') {
    const messageId = signing.messageId ?? (JSON.parse(rawBody) as { id: string }).id;
    headers['webhook-id'] = messageId;
    headers['webhook-timestamp'] = String(Math.floor(timestamp.getTime() / 1000));
    headers['webhook-signature'] = new Webhook(secret, { format: 'raw' }).sign(messageId, timestamp, rawBody);
  }
  if (scheme !== 'standard-webhooks') headers['x-hi-events-signature'] = signSeedSignature(rawBody, secret);
  return headers;
}

let webhookCount = 0;

/** A status webhook for one event with a fresh id; `data` fields and the rest may be overridden. */
export function statusWebhook(
  data: Partial<StatusWebhook['data']> & Pick<StatusWebhook['data'], 'tuvens_event_id' | 'status'>,
  envelope: { id?: string; occurredAt?: Date } = {},
): StatusWebhook {
  const hiEventsEventId = data.hi_events_event_id === undefined ? 7 : data.hi_events_event_id;
  return {
    id: envelope.id ?? `whmsg_test_${process.pid}_${++webhookCount}`,
    type: 'event.status_changed',
    occurred_at: (envelope.occurredAt ?? new Date()).toISOString(),
    data: {
      hi_events_event_id: hiEventsEventId,
      hi_events_event_url:
        hiEventsEventId === null ? null : `https://tickets.example/event/${hiEventsEventId}/summer-concert`,
      hi_events_status: { none: null, setup: 'DRAFT', active: 'LIVE', inactive: 'ARCHIVED' }[data.status] as
        | 'DRAFT'
        | 'LIVE'
        | 'ARCHIVED'
        | null,
      ...data,
    },
  };
}

/** Sends a signed status webhook (any JSON, or a raw string) to the test API. */
export async function sendStatusWebhook(
  api: Pick<TestApi, 'request'>,
  payload: unknown,
  signing: WebhookSigning = {},
): ReturnType<TestApi['request']> {
  const rawBody = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return api.request('POST', STATUS_WEBHOOK_PATH, {
    body: rawBody,
    headers: signStatusWebhook(rawBody, signing),
  });
}

/** A change as an updates stream delivered it. */
export type ReceivedChange = ReceivedMessage<TicketingStatusChanged>;

export interface UpdatesStream {
  /** Every change received so far, in order, across reconnects. */
  readonly changes: ReceivedChange[];
  /** The ids of the `ready` events, one per (re)connection. */
  readonly readyIds: string[];
  /** Each connection made: where to, and the `Last-Event-ID` it resumed from. */
  readonly connections: { baseUrl: string; lastEventId: string | null }[];
  /** Resolves once `count` changes have arrived in all; fails after `timeoutMs`. */
  waitForChanges(count: number, timeoutMs?: number): Promise<ReceivedChange[]>;
  /** Resolves once the stream has been ready `count` times (1 after connecting); fails after `timeoutMs`. */
  waitUntilReady(count?: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * Opens `GET /api/events/updates` as a browser would: it reconnects by itself and sends
 * `Last-Event-ID` when it does. `baseUrl` is asked on every (re)connection, so a test can move the
 * client to another instance.
 */
export function openUpdatesStream(
  baseUrl: string | (() => string),
  options: { query?: string; lastEventId?: string | number; headers?: Record<string, string> } = {},
): UpdatesStream {
  const stream = openSseStream<TicketingStatusChanged>(
    baseUrl,
    `${EVENT_UPDATES_PATH}${options.query ?? ''}`,
    options,
  );
  return {
    changes: stream.messages,
    readyIds: stream.readyIds,
    connections: stream.connections,
    waitForChanges: stream.waitForMessages,
    waitUntilReady: stream.waitUntilReady,
    close: stream.close,
  };
}

/** A route as Fastify serves it: `:name` parameters, `*` wildcards. */
export interface ServedRoute {
  method: string;
  path: string;
}

/**
 * Every method and path an app serves, read from its own route table (`printRoutes`), so that a
 * test meant for every route also covers those added after it was written.
 */
export function listRoutes(app: { printRoutes(options: { commonPrefix: false }): string }): ServedRoute[] {
  const routes: ServedRoute[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // `│   ├── /path (GET, HEAD)`: four characters of indent per level below the root.
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    prefixes.length = match[1]!.length / 4;
    prefixes.push(match[2]!);
    const path = prefixes.join('');
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path });
  }
  return routes;
}

/** Another organizer: a user owning an account of their own with one public event, as someone could sign up. */
export interface OtherOrganizer {
  email: string;
  password: string;
  name: string;
  accountName: string;
  eventId: number;
  eventTitle: string;
}

export async function addOrganizer(
  db: Kysely<ApiDatabase>,
  input: { email: string; name: string; accountName: string; eventTitle: string },
): Promise<OtherOrganizer> {
  const user = await createUser(db, { email: input.email, name: input.name, password: DEMO_PASSWORD });
  const account = await createAccount(db, { name: input.accountName, ownerId: user.id });
  const startsAt = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
  const event = await createEvent(db, account.id, {
    title: input.eventTitle,
    starts_at: startsAt.toISOString(),
    ends_at: new Date(startsAt.getTime() + 2 * 60 * 60 * 1000).toISOString(),
    visibility: 'public',
  });
  return { ...input, password: DEMO_PASSWORD, eventId: event.id };
}

/**
 * Does what an organizer's "Enable ticketing" does before Hi.Events may link an event: issues a
 * cross-app session for it in the name of an owner of its account. Nothing else is written; the
 * session is never used.
 */
export async function enableTicketing(db: Kysely<ApiDatabase>, ...eventIds: number[]): Promise<void> {
  for (const eventId of eventIds) await issueSessionFor(db, eventId, new Date());
}

async function issueSessionFor(db: Kysely<ApiDatabase>, eventId: number, now: Date): Promise<void> {
  const owner = await db
    .selectFrom('events')
    .innerJoin('account_members', 'account_members.account_id', 'events.account_id')
    .select(['account_members.user_id', 'events.account_id'])
    .where('events.id', '=', eventId)
    .where('account_members.role', '=', 'owner')
    .executeTakeFirstOrThrow();
  await createSession(db, {
    userId: owner.user_id,
    accountId: owner.account_id,
    eventId,
    appId: 'hi-events',
    now,
    policy: { expirySeconds: 600, maxLifetimeSeconds: 3600 },
  });
}

/**
 * A new event of the demo account starting a day after `now`, whose organizer has enabled ticketing
 * at `now` ({@link enableTicketing}), so that status webhooks may link it.
 */
export async function newTicketingEvent(
  db: Kysely<ApiDatabase>,
  options: { title?: string; visibility?: 'public' | 'private'; now?: Date } = {},
): Promise<number> {
  const now = options.now ?? new Date();
  const start = new Date(now.getTime() + 24 * 60 * 60 * 1000);
  const event = await createEvent(db, 1, {
    title: options.title ?? 'Ticketing test event',
    starts_at: start.toISOString(),
    ends_at: new Date(start.getTime() + 3 * 60 * 60 * 1000).toISOString(),
    visibility: options.visibility ?? 'public',
  });
  await issueSessionFor(db, event.id, now);
  return event.id;
}

/** Moves an event's ticketing with a signed status webhook and answers the change's row in the change log. */
export async function applyChange(
  api: Pick<TestApi, 'request' | 'database'>,
  eventId: number,
  status: TicketingStatus,
): Promise<TicketingChangeRow> {
  const answer = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: eventId, status }));
  if (answer.status !== 200 || !answer.body.applied) {
    throw new Error(`${status} for event ${eventId} was not applied: ${JSON.stringify(answer.body)}`);
  }
  return api.database.db
    .selectFrom('ticketing_status_changes')
    .selectAll()
    .where('event_id', '=', eventId)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
}

/** Updates streams a test opens on one server, each closed by `closeAll` (after each test). */
export function streamsOf(baseUrl: () => string) {
  const open: UpdatesStream[] = [];
  return {
    open(options: Parameters<typeof openUpdatesStream>[1] = {}): UpdatesStream {
      const stream = openUpdatesStream(baseUrl, options);
      open.push(stream);
      return stream;
    },
    closeAll(): void {
      for (const stream of open.splice(0)) stream.close();
    },
  };
}
