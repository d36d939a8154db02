import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@tuvens/connector/testing';
import { EVENT_UPDATES_PATH, STATUS_WEBHOOK_PATH, type TicketingStatus } from '@tuvens/contracts';
import { loadEmulatorConfig, type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import { EventSource } from 'eventsource';
import pg from 'pg';

export { freePort };

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Node 24 from the `node` dev dependency; a bare `node` may be an older one. */
const NODE = `${ROOT}node_modules/.bin/node`;
const POSTGRES_HOST = '127.0.0.1';
const POSTGRES_PORT = 5432;
/** The PostgreSQL server the suite creates its databases on (trust auth for `postgres` on loopback). */
export const POSTGRES_SERVER_URL = `postgres://postgres@${POSTGRES_HOST}:${POSTGRES_PORT}/postgres`;
const MAX_OUTPUT_LINES = 5_000;

// ---------------------------------------------------------------------------------------------
// Waiting and reporting

/** Thrown by a check to stop `pollUntil` at once: waiting longer cannot help (a process died). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/** Polls `check` until it answers something truthy; fails naming `what` after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Prints one line of what a test did and counted, so that a run shows its evidence. */
export function printSummary(title: string, counts: Record<string, unknown>): void {
  const fields = Object.entries(counts)
    .map(([name, value]) => `${name}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  console.log(`[reliability] ${title}: ${fields}`);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the real server, its databases, and restarting it

/** Fails with a clear message when the PostgreSQL server the suite needs does not answer. */
export async function requirePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `The reliability suite needs PostgreSQL on ${POSTGRES_HOST}:${POSTGRES_PORT} (user postgres, trust auth), ` +
        `and it does not answer (${(error as Error).message}). Start it with ` +
        `"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start".`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

async function runAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server; the service that uses it migrates it on start. */
export async function createDatabase(label: string): Promise<ScratchDatabase> {
  const name = `tuvens_rel_${label}_${randomBytes(5).toString('hex')}`;
  await runAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_SERVER_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => runAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Plain SQL against one database, for counting what the services wrote. */
export interface Sql {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function openSql(url: string): Sql {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
  // Connections lost while the server restarts are replaced on the next query. A connection the pool
  // has lent out has no listener of the pool's own, and an unheard 'error' would end the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return {
    async rows<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    close: () => pool.end(),
  };
}

async function postgresCluster(action: 'start' | 'stop' | 'restart'): Promise<void> {
  const [version] = readdirSync('/etc/postgresql');
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { timeout: 120_000 });
}

export async function isPostgresReady(): Promise<boolean> {
  try {
    await run('pg_isready', ['-h', POSTGRES_HOST, '-p', String(POSTGRES_PORT), '-q'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** `pg_ctlcluster restart`: a quick bounce that drops every connection; resolves once it accepts them again. */
export async function restartPostgres(): Promise<void> {
  await postgresCluster('restart');
  await pollUntil('pg_isready', isPostgresReady, { timeoutMs: 60_000, intervalMs: 200 });
}

export async function stopPostgres(): Promise<void> {
  await postgresCluster('stop');
}

/** Starts the server and waits until `pg_isready` says it accepts connections. */
export async function startPostgres(): Promise<void> {
  if (!(await isPostgresReady())) await postgresCluster('start').catch(() => {});
  await pollUntil('pg_isready', isPostgresReady, { timeoutMs: 60_000, intervalMs: 200 });
}

// ---------------------------------------------------------------------------------------------
// Secrets, and finding them where they must not be

export interface Secrets {
  crossApp: string;
  webhook: string;
  jwt: string;
  hiEventsJwt: string;
}

/** Fresh secrets for one test, so that finding one in an answer or a log is unambiguous. */
export function generateSecrets(): Secrets {
  const secret = (label: string) => `${label}-${randomBytes(24).toString('hex')}`;
  return {
    crossApp: secret('rel-cross-app'),
    webhook: secret('rel-webhook'),
    jwt: secret('rel-jwt'),
    hiEventsJwt: secret('rel-hi-events-jwt'),
  };
}

/** The forms in which a secret could leak: as it is, base64 and hex encoded. */
export function secretForms(secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) => [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ]);
}

/** The secrets found in a text, by name. */
export function findSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, secret]) => secretForms([secret]).some((form) => text.includes(form)))
    .map(([name]) => name);
}

// ---------------------------------------------------------------------------------------------
// The services as real processes

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr, line by line (the newest lines). */
  readonly output: string[];
  isRunning(): boolean;
  /** How it ended (`exit code 1`, `signal SIGKILL`), or undefined while it runs. */
  exitStatus(): string | undefined;
  /** Stops a wait with the reason and its last log lines if the process has ended. */
  assertRunning(): void;
  /** SIGKILL, as a crash or an OOM kill would end it; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not ended within 10 s. */
  stop(): Promise<void>;
}

const running = new Set<ServiceProcess>();

// A test run that ends abruptly must not leave its services behind.
process.once('exit', () => {
  for (const service of running) {
    try {
      process.kill(service.pid, 'SIGKILL');
    } catch {}
  }
});

/** Stops every service a test started that is still running. */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop()));
}

export async function startService(options: {
  name: string;
  app: 'api' | 'connector';
  port: number;
  env: Record<string, string>;
}): Promise<ServiceProcess> {
  const child = spawn(NODE, ['src/main.ts'], {
    cwd: `${ROOT}apps/${options.app}`,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > MAX_OUTPUT_LINES) output.splice(0, output.length - MAX_OUTPUT_LINES);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  let exitStatus: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
      running.delete(service);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${options.port}`;
  const service: ServiceProcess = {
    name: options.name,
    url,
    port: options.port,
    pid: child.pid ?? -1,
    output,
    isRunning: () => !exited,
    exitStatus: () => exitStatus,
    assertRunning() {
      if (exited) {
        throw new GiveUp(
          `${options.name} is gone (${exitStatus}); its last log lines:\n${lastWords(output)}`,
        );
      }
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const ended = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!ended) await service.kill();
    },
  };
  running.add(service);

  try {
    await pollUntil(
      `${options.name} to answer /healthz`,
      async () => {
        if (exited)
          throw new Error(`${options.name} exited before it was ready:\n${output.slice(-20).join('\n')}`);
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(
          () => null,
        );
        return response?.status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
  } catch (error) {
    await service.kill();
    throw new Error(`${(error as Error).message}\n${output.slice(-20).join('\n')}`);
  }
  return service;
}

/** The end of a process's output, with the JSON log lines' stack traces left out for brevity. */
function lastWords(output: string[]): string {
  return output
    .slice(-40)
    .map((line) => (line.startsWith('{') ? line.replace(/"stack":"(?:[^"\\]|\\.)*"/g, '"stack":"…"') : line))
    .join('\n');
}

/** tuvens-api's environment for a test: its database, the secrets, and rate limits out of the way. */
export function apiEnvironment(options: {
  port: number;
  databaseUrl: string;
  secrets: Secrets;
  /** The connector's public URL: the Hi.Events origin that CORS allows. */
  hiEventsUrl?: string;
  env?: Record<string, string>;
}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    API_PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: options.secrets.jwt,
    CROSS_APP_SHARED_SECRET: options.secrets.crossApp,
    HI_EVENTS_SHARED_SECRET: options.secrets.webhook,
    HI_EVENTS_URL: options.hiEventsUrl ?? 'http://127.0.0.1:4100',
    WEB_URL: 'http://127.0.0.1:3999',
    DEMO_DATA: 'true',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    RATE_LIMIT_CROSS_APP_PER_MINUTE: '100000',
    RATE_LIMIT_WEBHOOK_PER_MINUTE: '100000',
    ...options.env,
  };
}

/** The connector's environment for a test: quick retries, short timeouts, rate limits out of the way. */
export function connectorEnvironment(options: {
  port: number;
  databaseUrl: string;
  secrets: Secrets;
  tuvensApiUrl: string;
  hiEventsUrl: string;
  env?: Record<string, string>;
}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    CONNECTOR_PORT: String(options.port),
    CONNECTOR_PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    DATABASE_URL: options.databaseUrl,
    TUVENS_API_URL: options.tuvensApiUrl,
    TUVENS_WEB_URL: 'http://127.0.0.1:3999',
    CROSS_APP_SHARED_SECRET: options.secrets.crossApp,
    HI_EVENTS_SHARED_SECRET: options.secrets.webhook,
    HI_EVENTS_URL: options.hiEventsUrl,
    HI_EVENTS_JWT_SECRET: options.secrets.hiEventsJwt,
    LOG_LEVEL: 'warn',
    TUVENS_API_TIMEOUT_MS: '3000',
    TUVENS_API_RETRIES: '1',
    HI_EVENTS_TIMEOUT_MS: '5000',
    DELIVERY_TIMEOUT_MS: '3000',
    DELIVERY_BACKOFF_BASE_MS: '200',
    DELIVERY_BACKOFF_MAX_MS: '2000',
    DELIVERY_POLL_INTERVAL_MS: '100',
    RECONCILE_INTERVAL_S: '0',
    RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
    RATE_LIMIT_WEBHOOK_PER_MINUTE: '100000',
    ...options.env,
  };
}

/** The Hi.Events emulator in this process, signing with the test's Hi.Events JWT secret. */
export function startHiEvents(secrets: Secrets): Promise<RunningEmulator> {
  return startEmulator({
    port: 0,
    host: '127.0.0.1',
    logger: false,
    config: loadEmulatorConfig({
      NODE_ENV: 'test',
      EMULATOR_PORT: '0',
      HI_EVENTS_JWT_SECRET: secrets.hiEventsJwt,
      // The load here is one organizer changing many events several times a second, beyond Hi.Events'
      // default 180 requests a minute per user; a deployment under such load raises
      // `APP_API_RATE_LIMIT_PER_MINUTE` the same way.
      EMULATOR_API_RATE_LIMIT_PER_MINUTE: '100000',
      LOG_LEVEL: 'silent',
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// Driving the system over HTTP, as the web app, a browser and an organizer in Hi.Events do

export interface HttpAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
  body: any;
  text: string;
  headers: Headers;
}

export async function sendHttp(
  url: string,
  method: string,
  {
    body,
    headers = {},
    timeoutMs = 15_000,
  }: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

export async function login(apiUrl: string, email: string): Promise<string> {
  const answer = await sendHttp(`${apiUrl}/api/auth/login`, 'POST', {
    body: { email, password: 'tuvens-demo' },
  });
  if (answer.status !== 200) throw new Error(`login of ${email} answered ${answer.status}: ${answer.text}`);
  return answer.body.token as string;
}

const HOUR_MS = 60 * 60 * 1000;

/** A new Tuvens event two weeks ahead, created by the organizer over HTTP; answers its id. */
export async function createTuvensEvent(
  apiUrl: string,
  jwt: string,
  {
    title = 'Reliability concert',
    visibility = 'public' as 'public' | 'private',
    startsAt = new Date(),
  } = {},
): Promise<number> {
  const start = new Date(startsAt.getTime() + 14 * 24 * HOUR_MS);
  const answer = await sendHttp(`${apiUrl}/api/events`, 'POST', {
    body: {
      title,
      visibility,
      starts_at: start.toISOString(),
      ends_at: new Date(start.getTime() + 3 * HOUR_MS).toISOString(),
    },
    headers: { authorization: `Bearer ${jwt}` },
  });
  if (answer.status !== 201) throw new Error(`creating an event answered ${answer.status}: ${answer.text}`);
  return answer.body.id as number;
}

export interface Handshake {
  tuvensEventId: number;
  hiEventsEventId: number;
  /** The Hi.Events API token the sign-in put in the `token` cookie. */
  hiEventsToken: string;
  /** Tries it took, across failures (each try with a fresh session token). */
  tries: number;
}

/**
 * The whole "Enable ticketing" handshake: the web app's server route asks tuvens-api for a session
 * token, and the landing page posts it to the connector. Each try uses a fresh token, as a person
 * pressing the button again would; tries go on until one succeeds or `maxTries` is reached, unless
 * `worthTrying` throws first.
 */
export async function enableTicketing(
  system: { apiUrl: string; connectorUrl: string },
  jwt: string,
  tuvensEventId: number,
  {
    maxTries = 1,
    pauseMs = 250,
    worthTrying = () => {},
  }: { maxTries?: number; pauseMs?: number; worthTrying?: () => void } = {},
): Promise<Handshake> {
  let lastProblem = '';
  for (let tries = 1; tries <= maxTries; tries++) {
    worthTrying();
    try {
      const generated = await sendHttp(`${system.apiUrl}/api/cross-app/generate-session`, 'POST', {
        body: { eventId: tuvensEventId, appId: 'hi-events' },
        headers: { authorization: `Bearer ${jwt}` },
      });
      if (generated.status !== 200) throw new Error(`generate-session answered ${generated.status}`);
      const signedIn = await sendHttp(`${system.connectorUrl}/auth/cross-app/validate`, 'POST', {
        body: { session_token: generated.body.session_token, event_id: String(tuvensEventId) },
        headers: { origin: new URL(system.connectorUrl).origin },
        timeoutMs: 30_000,
      });
      if (signedIn.status !== 200) throw new Error(`sign-in answered ${signedIn.status}: ${signedIn.text}`);
      const cookie = signedIn.headers.getSetCookie().find((line) => line.startsWith('token='));
      const hiEventsToken = cookie?.slice('token='.length).split(';')[0];
      if (!hiEventsToken) throw new Error('sign-in set no Hi.Events token cookie');
      return { tuvensEventId, hiEventsEventId: signedIn.body.hi_events_event_id, hiEventsToken, tries };
    } catch (error) {
      lastProblem = (error as Error).message;
      if (tries < maxTries) await sleep(pauseMs);
    }
  }
  throw new Error(`enabling ticketing for event ${tuvensEventId} failed ${maxTries} times: ${lastProblem}`);
}

/** What an organizer does in Hi.Events: publish, pause or archive the event through its API. */
export async function setHiEventsStatus(
  hiEventsUrl: string,
  event: Pick<Handshake, 'hiEventsEventId' | 'hiEventsToken'>,
  status: 'LIVE' | 'DRAFT' | 'ARCHIVED',
): Promise<void> {
  const answer = await sendHttp(`${hiEventsUrl}/api/events/${event.hiEventsEventId}/status`, 'PUT', {
    body: { status },
    headers: { authorization: `Bearer ${event.hiEventsToken}` },
  });
  if (answer.status !== 200)
    throw new Error(`Hi.Events status change answered ${answer.status}: ${answer.text}`);
}

// ---------------------------------------------------------------------------------------------
// Counting: the connector's outbox against what tuvens-api applied

export interface OutboxMessage {
  id: number;
  message_id: string;
  tuvens_event_id: number;
  ticketing_status: TicketingStatus;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
}

export interface AppliedChange {
  id: number;
  event_id: number;
  to_status: TicketingStatus;
  webhook_id: string | null;
}

export interface WebhookReceipt {
  id: string;
  event_id: number;
  outcome: 'applied' | 'stale' | 'unchanged';
}

export function readOutbox(connector: Sql): Promise<OutboxMessage[]> {
  return connector.rows<OutboxMessage>(
    `select id::int, message_id, tuvens_event_id, ticketing_status, status, attempts, last_status_code, last_error
     from status_outbox order by id`,
  );
}

export function readChangeLog(api: Sql): Promise<AppliedChange[]> {
  return api.rows<AppliedChange>(
    'select id::int, event_id, to_status, webhook_id from ticketing_status_changes order by id',
  );
}

export function readReceipts(api: Sql): Promise<WebhookReceipt[]> {
  return api.rows<WebhookReceipt>('select id, event_id, outcome from webhook_receipts');
}

export async function readTicketingStatuses(
  api: Sql,
  eventIds: number[],
): Promise<Map<number, TicketingStatus>> {
  const rows = await api.rows<{ id: number; ticketing_status: TicketingStatus }>(
    'select id, ticketing_status from events where id = any($1::int[])',
    [eventIds],
  );
  return new Map(rows.map((row) => [row.id, row.ticketing_status]));
}

export interface DeliveryAccount {
  queued: number;
  delivered: number;
  pending: number;
  dead: number;
  /** Queued messages that tuvens-api applied exactly once, as the change they describe. */
  appliedOnce: number;
  /** Messages that reached tuvens-api but were not applied (stale or unchanged): lost updates. */
  notApplied: number;
  /** Queued messages of which tuvens-api has no trace. */
  lost: number;
  /** Change-log entries beyond one per message. */
  duplicates: number;
  /** Events whose applied changes are not in the order the connector queued them. */
  outOfOrder: number;
  problems: string[];
}

/**
 * Compares the connector's outbox with tuvens-api's receipts and change log: every queued message
 * must be delivered, have one receipt that says it was applied, appear once in the change log, and
 * each event's changes must be in the order the connector queued them.
 */
export function accountForDeliveries(
  outbox: OutboxMessage[],
  changes: AppliedChange[],
  receipts: WebhookReceipt[],
): DeliveryAccount {
  const problems: string[] = [];
  const receiptOf = new Map(receipts.map((receipt) => [receipt.id, receipt]));
  const changesOf = new Map<string, AppliedChange[]>();
  for (const change of changes) {
    if (change.webhook_id === null) continue;
    changesOf.set(change.webhook_id, [...(changesOf.get(change.webhook_id) ?? []), change]);
  }
  const account: DeliveryAccount = {
    queued: outbox.length,
    delivered: outbox.filter((message) => message.status === 'delivered').length,
    pending: outbox.filter((message) => message.status === 'pending').length,
    dead: outbox.filter((message) => message.status === 'dead').length,
    appliedOnce: 0,
    notApplied: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    problems,
  };
  for (const message of outbox) {
    const receipt = receiptOf.get(message.message_id);
    const applied = changesOf.get(message.message_id) ?? [];
    if (message.status !== 'delivered') {
      const why = message.last_error
        ? ` (last answer ${message.last_status_code}: ${message.last_error})`
        : '';
      problems.push(`message ${message.id} is ${message.status}${why}`);
    }
    if (applied.length > 1) {
      account.duplicates += applied.length - 1;
      problems.push(`message ${message.id} was applied ${applied.length} times`);
    }
    if (!receipt && applied.length === 0) {
      account.lost++;
      problems.push(`message ${message.id} (${message.ticketing_status}) never reached tuvens-api`);
    } else if (receipt?.outcome !== 'applied' || applied.length === 0) {
      account.notApplied++;
      problems.push(
        `message ${message.id} (${message.ticketing_status}) was taken in as ${receipt?.outcome}`,
      );
    } else if (applied.length === 1 && applied[0]!.to_status === message.ticketing_status) {
      account.appliedOnce++;
    }
  }
  const queuedIds = new Set(outbox.map((message) => message.message_id));
  for (const change of changes) {
    if (change.webhook_id !== null && !queuedIds.has(change.webhook_id)) {
      problems.push(`change ${change.id} came from a webhook the connector never queued`);
    }
  }
  const eventIds = new Set(outbox.map((message) => message.tuvens_event_id));
  for (const eventId of eventIds) {
    const queuedOrder = outbox
      .filter((message) => message.tuvens_event_id === eventId)
      .map((message) => message.message_id);
    const appliedOrder = changes
      .filter((change) => change.event_id === eventId && change.webhook_id !== null)
      .map((change) => change.webhook_id);
    if (JSON.stringify(queuedOrder) !== JSON.stringify(appliedOrder)) {
      account.outOfOrder++;
      problems.push(`event ${eventId}: applied in another order than queued`);
    }
  }
  return account;
}

/** The counts of an account, without the list of problems, for a summary line. */
export function countsOf(account: DeliveryAccount) {
  const { problems: _, ...counts } = account;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// SSE clients

export interface ReceivedChange {
  id: number;
  eventId: number;
  status: TicketingStatus;
}

export interface SseClient {
  readonly name: string;
  /** Every change received, across reconnections, in arrival order. */
  readonly changes: ReceivedChange[];
  /** The id of each `ready` event: one per (re)connection. */
  readonly readyIds: number[];
  /** Each connection made: which instance, and the `Last-Event-ID` it resumed from. */
  readonly connections: { baseUrl: string; lastEventId: string | null }[];
  close(): void;
}

/**
 * An `EventSource` (the `eventsource` package, which reconnects by itself and sends `Last-Event-ID`)
 * on `GET /api/events/updates`. `baseUrl` is asked on every connection, so the test can point
 * clients at another instance once theirs is gone.
 */
export function openSseClient(
  name: string,
  baseUrl: () => string,
  { query = '', bearer }: { query?: string; bearer?: string } = {},
): SseClient {
  const changes: ReceivedChange[] = [];
  const readyIds: number[] = [];
  const connections: SseClient['connections'] = [];
  const source = new EventSource(`http://updates.invalid${EVENT_UPDATES_PATH}${query}`, {
    fetch: (input, init) => {
      const target = new URL(String(input));
      const headers: Record<string, string> = { ...init.headers };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const base = baseUrl();
      const lastEventId = Object.entries(headers).find(
        ([header]) => header.toLowerCase() === 'last-event-id',
      );
      connections.push({ baseUrl: base, lastEventId: lastEventId?.[1] ?? null });
      return fetch(`${base}${target.pathname}${target.search}`, { ...init, headers });
    },
  });
  source.onmessage = (message) => {
    const data = JSON.parse(message.data) as { eventId: number; status: TicketingStatus };
    changes.push({ id: Number(message.lastEventId), eventId: data.eventId, status: data.status });
  };
  source.addEventListener('ready', (message) => {
    readyIds.push(Number(message.lastEventId));
  });
  return { name, changes, readyIds, connections, close: () => source.close() };
}

/** Compares what an SSE client received with what it should have: missing and repeated change ids. */
export function compareReceived(client: SseClient, expectedIds: number[]) {
  const received = client.changes.map((change) => change.id);
  const seen = new Set<number>();
  let duplicates = 0;
  for (const id of received) {
    if (seen.has(id)) duplicates++;
    seen.add(id);
  }
  const missing = expectedIds.filter((id) => !seen.has(id));
  const expected = new Set(expectedIds);
  const unexpected = [...seen].filter((id) => !expected.has(id));
  const inOrder = received.every((id, index) => index === 0 || id > received[index - 1]!);
  return {
    received: received.length,
    expected: expectedIds.length,
    missing,
    duplicates,
    unexpected,
    inOrder,
  };
}

// ---------------------------------------------------------------------------------------------
// A gate on the line from the connector to tuvens-api

export interface DeliveryGate {
  /** Where the connector should find tuvens-api. */
  readonly url: string;
  readonly counts: {
    /** Status webhooks passed through and answered. */
    passed: number;
    /** Of those, the ones tuvens-api answered as already applied. */
    answeredDuplicate: number;
    /** Status webhooks held without being forwarded. */
    heldUnsent: number;
    /** Status webhooks forwarded, applied by tuvens-api, and their answer held back. */
    heldAfterApplying: number;
  };
  /** Status webhooks held open right now. */
  openNow(): number;
  /**
   * From now on, status webhooks are held open: every other one is first forwarded (so tuvens-api
   * applies it, but the connector never hears so), the rest are not forwarded at all.
   */
  hold(): void;
  /** Lets everything through again; what is held stays unanswered until its sender gives up. */
  release(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/** A loopback proxy in front of tuvens-api that can hold the connector's deliveries in flight. */
export async function startDeliveryGate(targetUrl: string): Promise<DeliveryGate> {
  const port = await freePort();
  const counts = { passed: 0, answeredDuplicate: 0, heldUnsent: 0, heldAfterApplying: 0 };
  const open = new Set<ServerResponse>();
  let holding = false;
  let heldSoFar = 0;

  const forward = async (request: IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const answer = await fetch(`${targetUrl}${request.url}`, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(body),
      redirect: 'manual',
    });
    return { status: answer.status, type: answer.headers.get('content-type'), text: await answer.text() };
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      const isDelivery = request.method === 'POST' && request.url === STATUS_WEBHOOK_PATH;
      try {
        if (isDelivery && holding) {
          open.add(response);
          response.once('close', () => open.delete(response));
          if (heldSoFar++ % 2 === 0) {
            await forward(request, body);
            counts.heldAfterApplying++;
          } else {
            counts.heldUnsent++;
          }
          return;
        }
        const answer = await forward(request, body);
        if (isDelivery) {
          counts.passed++;
          if (answer.text.includes('"reason":"duplicate"')) counts.answeredDuplicate++;
        }
        response.writeHead(answer.status, answer.type ? { 'content-type': answer.type } : {});
        response.end(answer.text);
      } catch {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      }
    });
  });
  // A sender that dies mid-request resets its socket; that is expected here.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    openNow: () => open.size,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Hostile clients: requests as bytes, and what the databases hold

/** One request and its answer, kept to be checked for server errors and leaked secrets. */
export interface Exchange {
  label: string;
  /** The answer's status; 0 when the connection ended without one. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Sends a request with node:http, which (unlike fetch) lets a test set any header it allows on the
 * wire and still reads an answer that comes before the body has been fully sent (a 413). An event
 * stream's body is not read: its headers are the answer.
 */
export function exchange(
  label: string,
  url: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(url, { method, headers, agent: false }, (response) => {
      answered = true;
      const done = (text: string) =>
        resolve({ label, status: response.statusCode ?? 0, headers: response.headers, text });
      if (String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        response.destroy();
        done('');
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
      response.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
    });
    request.setTimeout(30_000, () => request.destroy(new Error(`${label}: no answer within 30 s`)));
    request.on('error', (error) => {
      if (answered) return;
      // The server may close the connection after answering a body it will not read.
      if (
        (error as NodeJS.ErrnoException).code === 'ECONNRESET' ||
        (error as NodeJS.ErrnoException).code === 'EPIPE'
      ) {
        resolve({ label, status: 0, headers: {}, text: `connection ended: ${(error as Error).message}` });
      } else {
        reject(error);
      }
    });
    request.end(body);
  });
}

/** Writes raw bytes to a server and answers the status line it sends back, if any, before it closes. */
export function sendRawBytes(
  url: string,
  bytes: string | Buffer,
): Promise<{ statusLine: string; status: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const statusLine = text.split('\r\n')[0] ?? '';
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      resolve({ statusLine, status });
    };
    socket.setTimeout(3_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // The first answer is all that is needed; keep-alive would otherwise hold the socket open.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.write(bytes);
  });
}

/** Every row of every table of a database (but those named), to tell whether anything changed. */
export async function snapshotDatabase(
  url: string,
  { except = [] as string[] } = {},
): Promise<Record<string, string>> {
  const sql = openSql(url);
  try {
    const tables = await sql.rows<{ table_name: string }>(
      `select table_name from information_schema.tables
       where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    );
    const snapshot: Record<string, string> = {};
    for (const { table_name: table } of tables) {
      if (except.includes(table)) continue;
      const rows = await sql.rows<Record<string, unknown>>(
        `select * from "${table}" as row order by row::text`,
      );
      snapshot[table] = JSON.stringify(rows);
    }
    return snapshot;
  } finally {
    await sql.close();
  }
}
