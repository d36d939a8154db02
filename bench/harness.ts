import { type ChildProcess, execFile, execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SEED_SIGNATURE_HEADER, signSeedSignature } from '@tuvens/contracts/signatures';
import pg from 'pg';
import { type Browser, chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_DIR = join(ROOT, 'bench');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** The PostgreSQL server the suite uses when it can: an admin connection, never written to. */
export const POSTGRES_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** The only database the suite creates, drops and writes. */
export const BENCH_DATABASE = 'tuvens_bench';

/** `--pglite` runs every scenario on embedded PGlite even when PostgreSQL answers. */
export const databaseChoice = { forcePglite: false };

/** Secrets of the benchmark's own, set explicitly so the API runs with NODE_ENV=production (which refuses the published development ones). */
export const SECRETS = {
  crossApp: 'bench-cross-app-shared-secret-0123456789abcdef',
  hiEvents: 'bench-hi-events-shared-secret-0123456789abcdef',
  jwt: 'bench-jwt-signing-secret-0123456789abcdefghij',
  webApi: 'bench-web-api-secret-0123456789abcdefghijklm',
} as const;

export const DEMO_ORGANIZER = { email: 'organizer@tuvens.test', password: 'tuvens-demo' } as const;

/** Progress goes to standard error, so that standard output holds only the tables. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Database

export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  /** The bench database's connection string (PostgreSQL only). */
  url: string | undefined;
  /** PGlite's data folder (PGlite only). */
  dataDir: string | undefined;
  /** The server version, or why the suite fell back to PGlite. */
  description: string;
}

/**
 * A fresh, empty bench database: `tuvens_bench` dropped and created again on PostgreSQL at
 * 127.0.0.1:5432, or, when that server does not answer, a new PGlite folder.
 */
export async function prepareDatabase(): Promise<BenchDatabase> {
  const pglite = (why: string): BenchDatabase => ({
    kind: 'pglite',
    url: undefined,
    dataDir: mkdtempSync(join(tmpdir(), 'tuvens-bench-pglite-')),
    description: `EMBEDDED PGLITE, NOT POSTGRESQL: ${why}`,
  });
  if (databaseChoice.forcePglite) return pglite('asked for with --pglite');
  const admin = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => {});
    return pglite(`PostgreSQL at 127.0.0.1:5432 did not answer (${errorText(error)})`);
  }
  try {
    const { rows } = await admin.query<{ version: string }>('select version()');
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
    const url = new URL(POSTGRES_SERVER_URL);
    url.pathname = `/${BENCH_DATABASE}`;
    const version = rows[0]?.version.split(' on ')[0] ?? 'PostgreSQL';
    return { kind: 'postgres', url: url.toString(), dataDir: undefined, description: version };
  } finally {
    await admin.end();
  }
}

/** Drops the bench database (or deletes PGlite's folder) once a scenario is done with it. */
export async function disposeDatabase(database: BenchDatabase): Promise<void> {
  if (database.dataDir) rmSync(database.dataDir, { recursive: true, force: true });
  if (!database.url) return;
  const admin = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  } catch (error) {
    log(`could not drop ${BENCH_DATABASE}: ${errorText(error)}`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/** Runs a statement on the bench database directly (PostgreSQL only), outside the API under test. */
export async function queryBenchDatabase<T extends pg.QueryResultRow>(
  database: BenchDatabase,
  text: string,
): Promise<T[]> {
  if (!database.url) throw new Error('only PostgreSQL can be queried from outside the API');
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

const children = new Set<ChildProcess>();
// A crash of the runner must not leave servers or 10,000 sockets behind.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Whether `--cpu-prof` was asked for: servers under test then write V8 CPU profiles to bench/results. */
export const profiling = { enabled: false, heapSnapshots: false, label: 'run', files: [] as string[] };

export interface NodeChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lines the child printed, newest last (kept for errors). */
  readonly output: string[];
  /** Full garbage collection in the child, then its memory (needs bench/process-probe.ts). */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Full garbage collection in the child, then a V8 heap snapshot written to `path`. */
  heapSnapshot(path: string): Promise<string>;
  /** The child's next IPC message that passes `filter`. */
  message<T>(filter: (message: unknown) => message is T, timeoutMs: number): Promise<T>;
  send(message: unknown): void;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript file in its own Node.js process (the runner's Node 24), with an IPC
 * channel and bench/process-probe.ts preloaded so the runner can read its memory after a GC.
 */
export function startNodeChild(
  script: string,
  options: { env?: Record<string, string>; name: string; profile?: boolean },
): NodeChild {
  const execArgv = ['--expose-gc', '--import', join(BENCH_DIR, 'process-probe.ts')];
  if (options.profile && profiling.enabled) {
    const file = `${profiling.label}-${options.name}-${Date.now()}.cpuprofile`;
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}`, `--cpu-prof-name=${file}`);
    profiling.files.push(join(RESULTS_DIR, file));
  }
  const child = fork(script, [], {
    cwd: ROOT,
    execPath: process.execPath,
    execArgv,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      output.push(line);
      if (output.length > 200) output.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => children.delete(child));

  const message = <T>(filter: (message: unknown) => message is T, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`${options.name}: no answer within ${timeoutMs} ms\n${output.slice(-20).join('\n')}`),
        );
      }, timeoutMs);
      const onMessage = (value: unknown) => {
        if (!filter(value)) return;
        cleanup();
        resolve(value);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${options.name} exited (${code}) early:\n${output.slice(-20).join('\n')}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  return {
    child,
    pid: child.pid!,
    output,
    message,
    send: (value) => {
      if (!child.connected) throw new Error(`${options.name} has exited:\n${output.slice(-20).join('\n')}`);
      child.send(value as never);
    },
    async memory() {
      const answer = message(isMemoryAnswer, 10_000);
      child.send({ type: 'probe:memory' });
      return (await answer).memory;
    },
    async heapSnapshot(path) {
      const answer = message(
        (value): value is { type: 'probe:heap-snapshot'; path: string } =>
          (value as { type?: unknown })?.type === 'probe:heap-snapshot',
        300_000,
      );
      child.send({ type: 'probe:heap-snapshot', path });
      return (await answer).path;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = sleep(10_000).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function isMemoryAnswer(value: unknown): value is { type: 'probe:memory'; memory: NodeJS.MemoryUsage } {
  return (value as { type?: unknown })?.type === 'probe:memory';
}

/** A free TCP port on loopback, for servers whose port must be known before they start. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** Polls a URL until it answers 2xx. */
export async function waitForHttp(url: string, timeoutMs: number, what: NodeChild): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (what.child.exitCode !== null) {
      throw new Error(
        `${url}: the server exited (${what.child.exitCode}):\n${what.output.slice(-30).join('\n')}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${what.output.slice(-30).join('\n')}`);
}

export interface ApiServer extends NodeChild {
  readonly url: string;
  readonly database: BenchDatabase;
}

/**
 * tuvens-api as in production: its own process running apps/api/src/main.ts with
 * NODE_ENV=production, explicit secrets, demo logins, rate limits out of the way and warn-level logs.
 */
export async function startApi(
  database: BenchDatabase,
  options: { env?: Record<string, string> } = {},
): Promise<ApiServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    API_PORT: String(port),
    JWT_SECRET: SECRETS.jwt,
    CROSS_APP_SHARED_SECRET: SECRETS.crossApp,
    HI_EVENTS_SHARED_SECRET: SECRETS.hiEvents,
    WEB_API_SECRET: SECRETS.webApi,
    DEMO_DATA: 'true',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000000',
    RATE_LIMIT_CROSS_APP_PER_MINUTE: '100000000',
    RATE_LIMIT_WEBHOOK_PER_MINUTE: '100000000',
    HI_EVENTS_URL: 'http://127.0.0.1:4100',
    HI_EVENTS_PUBLIC_URL: 'http://127.0.0.1:4200',
    WEB_URL: 'http://127.0.0.1:3000',
    ...(database.url ? { DATABASE_URL: database.url } : { API_DATA_DIR: database.dataDir! }),
    ...options.env,
  };
  const child = startNodeChild(join(ROOT, 'apps/api/src/main.ts'), { env, name: 'api', profile: true });
  try {
    await waitForHttp(`${url}/readyz`, 60_000, child);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url, database };
}

// ---------------------------------------------------------------------------------------------
// HTTP client

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function assertLoopback(url: string): URL {
  const parsed = new URL(url);
  const host = parsed.hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to send load to ${host}: the bench only targets loopback`);
  }
  return parsed;
}

/** A keep-alive HTTP/1.1 client for one loopback origin: the lightest way to drive a server from Node. */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = assertLoopback(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
      const request = http.request(
        { host: this.#host, port: this.#port, method, path, headers, agent: this.#agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          response.on('error', reject);
        },
      );
      request.setTimeout(options.timeoutMs ?? 30_000, () => request.destroy(new Error(`${path}: timed out`)));
      request.on('error', reject);
      request.end(options.body);
    });
  }

  /** Sends JSON; throws unless the answer has the expected status; answers the parsed body. */
  async json<T>(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
    expectStatus = 200,
  ): Promise<T> {
    const answer = await this.request(method, path, {
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status !== expectStatus) {
      throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    return JSON.parse(answer.body) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Signs the demo organizer in and answers the JWT and the id of an event they manage. */
export async function signInOrganizer(client: HttpClient): Promise<{ jwt: string; eventId: number }> {
  const { token } = await client.json<{ token: string }>('POST', '/api/auth/login', DEMO_ORGANIZER);
  const auth = { authorization: `Bearer ${token}` };
  const answer = await client.request('GET', '/api/events', { headers: auth });
  const parsed = JSON.parse(answer.body) as unknown;
  const events = (Array.isArray(parsed) ? parsed : (parsed as { events: unknown[] }).events) as {
    id: number;
    can_manage_ticketing?: boolean;
  }[];
  const event = events.find((candidate) => candidate.can_manage_ticketing !== false);
  if (!event) throw new Error('the demo organizer manages no event');
  return { jwt: token, eventId: event.id };
}

/** Creates events owned by the demo organizer, for scenarios that need many. */
export async function createEvents(client: HttpClient, jwt: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  const start = Date.now() + 30 * 24 * 3_600_000;
  for (let index = 0; index < count; index++) {
    const event = await client.json<{ id: number }>(
      'POST',
      '/api/events',
      {
        title: `Bench event ${index + 1}`,
        starts_at: new Date(start + index * 3_600_000).toISOString(),
        ends_at: new Date(start + (index + 2) * 3_600_000).toISOString(),
      },
      { authorization: `Bearer ${jwt}` },
      201,
    );
    ids.push(event.id);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Status webhooks, signed as the connector signs them (DESIGN.md §4)

export type TicketingStatus = 'none' | 'setup' | 'active' | 'inactive';

const HI_EVENTS_STATUS: Record<TicketingStatus, string | null> = {
  none: null,
  setup: 'DRAFT',
  active: 'LIVE',
  inactive: 'ARCHIVED',
};

const standardWebhook = new Webhook(SECRETS.hiEvents, { format: 'raw' });
let webhookSequence = 0;

/** A status webhook body and both signature schemes' headers, ready to POST. */
export function signedStatusWebhook(
  eventId: number,
  status: TicketingStatus,
  options: { now?: Date; hiEventsUrl?: string } = {},
): { body: string; headers: Record<string, string>; id: string } {
  const now = options.now ?? new Date();
  const hiEventsUrl = options.hiEventsUrl ?? 'http://127.0.0.1:4200';
  webhookSequence += 1;
  const id = `whmsg_bench_${process.pid}_${now.getTime()}_${webhookSequence}`;
  const body = JSON.stringify({
    id,
    type: 'event.status_changed',
    occurred_at: now.toISOString(),
    data: {
      tuvens_event_id: eventId,
      hi_events_event_id: 7_000 + eventId,
      status,
      hi_events_event_url: status === 'none' ? null : `${hiEventsUrl}/event/${7_000 + eventId}/bench-event`,
      hi_events_status: HI_EVENTS_STATUS[status],
      reason: 'bench',
    },
  });
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      [SEED_SIGNATURE_HEADER]: signSeedSignature(body, SECRETS.hiEvents),
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': standardWebhook.sign(id, now, body),
    },
  };
}

/** Walks an event's ticketing status along allowed transitions: none → setup → active ⇄ inactive. */
export function nextStatus(current: TicketingStatus): TicketingStatus {
  if (current === 'none') return 'setup';
  if (current === 'setup' || current === 'inactive') return 'active';
  return 'inactive';
}

// ---------------------------------------------------------------------------------------------
// The web app and a browser

export const WEB_DIR = join(ROOT, 'apps/web');
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the web scenarios build the web app first (`--no-build` measures the build already there). */
export const webBuild = { enabled: true, done: false };

/** `npm run build -w @tuvens/web`, once per run, so the figures are of the code as it is. */
export async function buildWebApp(): Promise<void> {
  if (!webBuild.enabled || webBuild.done) return;
  log('building the web app (npm run build -w @tuvens/web)');
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'npm',
      ['run', 'build', '-w', '@tuvens/web'],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  if (!existsSync(join(WEB_DIR, 'build/index.js'))) throw new Error(`the web build is missing:\n${output}`);
  webBuild.done = true;
}

export interface WebServer extends NodeChild {
  readonly url: string;
}

/** The built web app (adapter-node) in its own process, as in production. */
export async function startWebApp(options: {
  port: number;
  apiUrl: string;
  hiEventsUrl: string;
}): Promise<WebServer> {
  const url = `http://127.0.0.1:${options.port}`;
  const child = startNodeChild(join(WEB_DIR, 'build/index.js'), {
    name: 'web',
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(options.port),
      ORIGIN: url,
      PUBLIC_API_BASE_URL: options.apiUrl,
      PUBLIC_HI_EVENTS_URL: options.hiEventsUrl,
      PUBLIC_CROSS_APP_URL: options.hiEventsUrl,
      WEB_API_SECRET: SECRETS.webApi,
    },
  });
  try {
    await waitForHttp(`${url}/`, 60_000, child);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url };
}

/**
 * A stand-in for Hi.Events' widget page (`/widget/{id}`): a few bytes of HTML that report their
 * height as Hi.Events' widget does, so the ticket widget's active state finishes loading.
 */
export async function startWidgetStub(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const iframeId = new URL(request.url ?? '/', 'http://stub').searchParams.get('iframeId') ?? '';
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><title>Tickets</title><p>Tickets</p><script>parent.postMessage(${JSON.stringify({ type: 'resize', height: 240, iframeId })}, '*')</script>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Chromium from Debian, headless, driven by playwright-core; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// ---------------------------------------------------------------------------------------------
// Load generation and statistics

export interface LoadResult {
  completed: number;
  failed: number;
  firstError: string | undefined;
  elapsedMs: number;
  latenciesMs: number[];
  throughputPerS: number;
}

/**
 * A closed loop: `concurrency` workers each start the next operation when their last one ends,
 * until `maxOps` operations have started or `maxDurationMs` has passed, whichever comes first.
 */
export async function runClosedLoop(options: {
  concurrency: number;
  maxOps: number;
  maxDurationMs: number;
  op: (worker: number, index: number) => Promise<void>;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let started = 0;
  let failed = 0;
  let firstError: string | undefined;
  const begin = performance.now();
  const deadline = begin + options.maxDurationMs;
  const worker = async (workerIndex: number) => {
    while (started < options.maxOps && performance.now() < deadline) {
      const index = started++;
      const t0 = performance.now();
      try {
        await options.op(workerIndex, index);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        failed += 1;
        firstError ??= errorText(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  const elapsedMs = performance.now() - begin;
  return {
    completed: latenciesMs.length,
    failed,
    firstError,
    elapsedMs,
    latenciesMs,
    throughputPerS: (latenciesMs.length / elapsedMs) * 1000,
  };
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, in the unit of the input. */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    mean: sorted.length ? total / sorted.length : 0,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU and memory, read from /proc

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User plus system CPU ticks of a process (`kernelOnly`: system time alone); 0 once it is gone. */
function processCpuTicks(pid: number, kernelOnly = false): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (kernelOnly ? 0 : Number(fields[11])) + Number(fields[12]);
}

function machineCpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** Resident set size in bytes; 0 once the process is gone. */
export function processRssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface ResourceUse {
  /** CPU time of the server process per wall-clock second, in % of one core. */
  serverCpuPercent: number;
  /** The part of it spent in the kernel (system time: syscalls, and loopback TCP processed on its behalf). */
  serverKernelCpuPercent: number;
  /** The same for the PostgreSQL backends connected to the bench database (undefined on PGlite). */
  postgresCpuPercent: number | undefined;
  /** The same for this process, the load generator. */
  loadGeneratorCpuPercent: number;
  /** Busy time of the whole machine (everything, other users included), in % of all cores. */
  machineCpuPercent: number;
  /**
   * CPU used by anything but the server, its PostgreSQL backends and the load generator (other
   * users of the machine, PostgreSQL's background processes, the kernel), in % of one core: the noise.
   */
  otherCpuPercent: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
}

async function postgresBackendPids(database: BenchDatabase | undefined): Promise<number[]> {
  if (!database?.url) return [];
  const rows = await queryBenchDatabase<{ pid: number }>(
    database,
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  return rows.map((row) => row.pid);
}

/** CPU time a process has used so far, in ms (user plus system). */
export function processCpuMs(pid: number): number {
  return (processCpuTicks(pid) / CLOCK_TICKS_PER_S) * 1000;
}

function sumCpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += processCpuTicks(pid);
  return total;
}

/**
 * Starts measuring CPU and memory until `stop`: the server's, the bench database's PostgreSQL
 * backends' (those connected at the start, and whole those that connected meanwhile, as a pool
 * growing again after its idle connections closed), this load generator's and the machine's.
 */
export async function startMeter(
  serverPid: number,
  database?: BenchDatabase,
): Promise<{ stop(): Promise<ResourceUse> }> {
  const backends = await postgresBackendPids(database);
  const startedAt = performance.now();
  const cpuStart = processCpuTicks(serverPid);
  const kernelStart = processCpuTicks(serverPid, true);
  const postgresStart = sumCpuTicks(backends);
  const selfStart = process.cpuUsage();
  const machineStart = machineCpuTicks();
  const rssStart = processRssBytes(serverPid);
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, processRssBytes(serverPid));
  }, 100);
  return {
    async stop() {
      clearInterval(sampler);
      const seconds = (performance.now() - startedAt) / 1000;
      const started = new Set(backends);
      const joined = (await postgresBackendPids(database)).filter((pid) => !started.has(pid));
      const percentOfCore = (ticks: number) => (ticks / CLOCK_TICKS_PER_S / seconds) * 100;
      const self = process.cpuUsage(selfStart);
      const machineEnd = machineCpuTicks();
      const rssEnd = processRssBytes(serverPid);
      rssPeak = Math.max(rssPeak, rssEnd);
      const serverCpuPercent = percentOfCore(processCpuTicks(serverPid) - cpuStart);
      const postgresCpuPercent = database?.url
        ? percentOfCore(sumCpuTicks(backends) - postgresStart + sumCpuTicks(joined))
        : undefined;
      const loadGeneratorCpuPercent = ((self.user + self.system) / 1e6 / seconds) * 100;
      const machineCpuPercent =
        ((machineEnd.busy - machineStart.busy) / Math.max(1, machineEnd.total - machineStart.total)) * 100;
      return {
        serverCpuPercent,
        serverKernelCpuPercent: percentOfCore(processCpuTicks(serverPid, true) - kernelStart),
        postgresCpuPercent,
        loadGeneratorCpuPercent,
        machineCpuPercent,
        otherCpuPercent: Math.max(
          0,
          machineCpuPercent * os.cpus().length -
            serverCpuPercent -
            (postgresCpuPercent ?? 0) -
            loadGeneratorCpuPercent,
        ),
        rssStartMiB: rssStart / 2 ** 20,
        rssEndMiB: rssEnd / 2 ** 20,
        rssPeakMiB: rssPeak / 2 ** 20,
      };
    },
  };
}

/** Measures one load run against a server process. */
export async function measureLoad(
  server: { pid: number; database?: BenchDatabase | undefined },
  load: () => Promise<LoadResult>,
): Promise<{ load: LoadResult; resources: ResourceUse }> {
  const meter = await startMeter(server.pid, server.database);
  const result = await load();
  return { load: result, resources: await meter.stop() };
}

// ---------------------------------------------------------------------------------------------
// Results

/** One measured row of a scenario's table. */
export interface Row {
  label: string;
  concurrency?: number | undefined;
  operations?: number | undefined;
  failed?: number | undefined;
  throughputPerS?: number | undefined;
  latencyMs?: LatencySummary | undefined;
  resources?: ResourceUse | undefined;
  /** Free-form figures that do not fit the columns. */
  extra?: Record<string, string | number | boolean> | undefined;
}

/** A target of the issue, with what was measured. `pass: null` means it could not be measured. */
export interface Check {
  target: string;
  measured: string;
  pass: boolean | null;
}

export interface ScenarioReport {
  scenario: string;
  title: string;
  ranAt: string;
  /** The machine's 1-minute load average when the scenario started: how quiet it was. */
  loadAverage1m: number;
  database: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string | undefined;
  rows: Row[];
  checks: Check[];
  notes: string[];
}

/** What a scenario file exports. */
export interface Scenario {
  name: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

export interface ScenarioContext {
  /** A fresh database for this scenario alone. */
  database: BenchDatabase;
}

/** What a scenario itself reports; the runner adds when, where and on which database. */
export type ScenarioOutcome = Pick<ScenarioReport, 'status' | 'reason' | 'rows' | 'checks' | 'notes'>;

export function ok(rows: Row[], checks: Check[], notes: string[] = []): ScenarioOutcome {
  return { status: 'ok', rows, checks, notes };
}

export function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  // Rounding a tiny negative (a counter read a moment apart) must not print "-0".
  const shown = Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value;
  return shown.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return errorText(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** CPU time per operation: steadier than rates on a shared machine, since waiting costs none. */
export function cpuMsPerOp(cpuPercent: number | undefined, opsPerS: number | undefined): number | undefined {
  return cpuPercent === undefined || !opsPerS ? undefined : (cpuPercent * 10) / opsPerS;
}

/**
 * What the CPU time measured per operation allows at most on this machine: all cores kept busy by the
 * server, PostgreSQL and the load generator, and one Node.js process (one core) for the server.
 */
export function cpuCeilingNote(what: string, row: Row): string | undefined {
  const perOp = (percent: number | undefined) => cpuMsPerOp(percent, row.throughputPerS);
  const server = perOp(row.resources?.serverCpuPercent);
  const postgres = perOp(row.resources?.postgresCpuPercent) ?? 0;
  const generator = perOp(row.resources?.loadGeneratorCpuPercent) ?? 0;
  if (!server) return undefined;
  const cores = os.cpus().length;
  const machine = (cores * 1000) / (server + postgres + generator);
  return (
    `CPU per ${what} at ${row.concurrency} concurrent: API ${fmt(server, 2)} ms, PostgreSQL ${fmt(postgres, 2)} ms, ` +
    `load generator ${fmt(generator, 2)} ms. At these costs this machine's ${cores} cores allow at most ` +
    `${fmt(machine, 0)}/s, and one Node.js process (one core) at most ${fmt(1000 / server, 0)}/s.`
  );
}

/** A scenario's measured rows as a Markdown table. */
export function formatRows(report: ScenarioReport): string {
  const rows = report.rows.map((row) => [
    row.label,
    row.concurrency === undefined ? '' : String(row.concurrency),
    row.operations === undefined ? '' : `${row.operations}${row.failed ? ` (${row.failed} failed)` : ''}`,
    fmt(row.throughputPerS, 0),
    fmt(row.latencyMs?.p50, 2),
    fmt(row.latencyMs?.p99, 2),
    fmt(row.latencyMs?.max, 2),
    row.resources
      ? `${fmt(row.resources.serverCpuPercent, 0)} (${fmt(row.resources.serverKernelCpuPercent, 0)})`
      : '',
    fmt(cpuMsPerOp(row.resources?.serverCpuPercent, row.throughputPerS), 2),
    fmt(row.resources?.postgresCpuPercent, 0),
    fmt(row.resources?.loadGeneratorCpuPercent, 0),
    fmt(row.resources?.machineCpuPercent, 0),
    fmt(row.resources?.otherCpuPercent, 0),
    row.resources ? `${fmt(row.resources.rssStartMiB, 0)}→${fmt(row.resources.rssPeakMiB, 0)}` : '',
    Object.entries(row.extra ?? {})
      .map(([key, value]) => `${key}: ${typeof value === 'number' ? fmt(value, 2) : value}`)
      .join('; '),
  ]);
  return table(
    [
      'measurement',
      'conc.',
      'ops',
      'ops/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'server CPU % (kernel)',
      'server CPU ms/op',
      'PG CPU %',
      'load gen. CPU %',
      'machine CPU %',
      'other CPU %',
      'server RSS MiB',
      'other',
    ],
    rows,
  );
}

/** Every scenario's targets: target, measured, met or missed. */
export function formatChecks(reports: ScenarioReport[]): string {
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.status !== 'ok') {
      rows.push([report.scenario, '(scenario)', report.reason ?? report.status, report.status.toUpperCase()]);
    }
    for (const check of report.checks) {
      const verdict = check.pass === null ? 'n/a' : check.pass ? 'met' : 'MISSED';
      rows.push([report.scenario, check.target, check.measured, verdict]);
    }
  }
  return table(['scenario', 'target', 'measured', 'result'], rows);
}
