/**
 * `npm start`: runs the whole system on embedded defaults — tuvens-api, the connector, the
 * Hi.Events emulator and the web app — each as its own process, as in production, and prints
 * where to open it. Data lives in .data/ (or TUVENS_DATA_DIR); Ctrl-C stops everything.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEVELOPMENT_SECRETS as API_SECRETS } from '../apps/api/src/config.ts';
import { DEVELOPMENT_SECRETS as CONNECTOR_SECRETS } from '../apps/connector/src/config.ts';

const ROOT = join(import.meta.dirname, '..');

/** The secrets of either service left to their development values here, for the closing warning. */
function developmentSecretsInUse(): string[] {
  const names = new Set([...Object.keys(API_SECRETS), ...Object.keys(CONNECTOR_SECRETS)]);
  return [...names].filter((name) => !process.env[name]).sort();
}
const NODE = process.execPath;

interface Service {
  name: string;
  dir: string;
  entry: string;
  url: string;
  health: string;
  env: Record<string, string>;
}

const env = (name: string, fallback: string) => process.env[name] ?? fallback;

/** Whether tuvens-api will seed its demo data: as DEMO_DATA says, else everywhere but production. */
function apiSeedsDemoData(): boolean {
  const demoData = process.env.DEMO_DATA;
  if (demoData !== undefined && demoData !== '') return demoData === 'true' || demoData === '1';
  return process.env.NODE_ENV !== 'production';
}
const WEB_URL = env('WEB_URL', 'http://localhost:3000');
const API_URL = env('PUBLIC_API_BASE_URL', 'http://localhost:4000');
const CONNECTOR_URL = env('CONNECTOR_PUBLIC_URL', 'http://localhost:4100');
const HI_EVENTS_URL = env('HI_EVENTS_URL', 'http://localhost:4200');
/** Where every service keeps its data between runs. */
const DATA_DIR = resolve(ROOT, env('TUVENS_DATA_DIR', '.data'));

const SERVICES: Service[] = [
  {
    name: 'emulator',
    dir: 'packages/hi-events-emulator',
    entry: 'src/main.ts',
    url: HI_EVENTS_URL,
    health: '/healthz',
    env: {
      EMULATOR_PORT: new URL(HI_EVENTS_URL).port,
      EMULATOR_PUBLIC_URL: HI_EVENTS_URL,
      // Like a real Hi.Events, the emulator keeps its users, accounts and events across restarts.
      EMULATOR_DATA_DIR: join(DATA_DIR, 'hi-events-emulator'),
    },
  },
  {
    name: 'api',
    dir: 'apps/api',
    entry: 'src/main.ts',
    url: API_URL,
    health: '/readyz',
    env: {
      API_PORT: new URL(API_URL).port,
      API_DATA_DIR: join(DATA_DIR, 'api'),
      HI_EVENTS_URL: CONNECTOR_URL,
      // The public Hi.Events site: the only one whose pages a status webhook may link to.
      HI_EVENTS_PUBLIC_URL: HI_EVENTS_URL,
      WEB_URL,
    },
  },
  {
    name: 'connector',
    dir: 'apps/connector',
    entry: 'src/main.ts',
    url: CONNECTOR_URL,
    health: '/readyz',
    env: {
      CONNECTOR_PORT: new URL(CONNECTOR_URL).port,
      CONNECTOR_PUBLIC_URL: CONNECTOR_URL,
      CONNECTOR_DATA_DIR: join(DATA_DIR, 'connector'),
      TUVENS_API_URL: API_URL,
      TUVENS_WEB_URL: WEB_URL,
      HI_EVENTS_URL,
    },
  },
  {
    name: 'web',
    dir: 'apps/web',
    entry: 'build/index.js',
    url: WEB_URL,
    health: '/',
    env: {
      PORT: new URL(WEB_URL).port,
      HOST: '127.0.0.1',
      PUBLIC_API_BASE_URL: API_URL,
      PUBLIC_HI_EVENTS_URL: HI_EVENTS_URL,
      PUBLIC_CROSS_APP_URL: CONNECTOR_URL,
      // tuvens-api seeds its demo data unless told otherwise (DEMO_DATA); the sign-in page lists those logins.
      DEMO_LOGINS: env('DEMO_LOGINS', String(apiSeedsDemoData())),
    },
  },
];

/** The newest modification time of any file below a folder. */
function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds the web app when its build is missing or older than its sources or the contracts. */
function buildWebIfStale(): boolean {
  const web = join(ROOT, 'apps/web');
  if (!existsSync(join(web, 'src'))) return false;
  const built = join(web, 'build/index.js');
  const sources = Math.max(
    newestChange(join(web, 'src')),
    newestChange(join(ROOT, 'packages/contracts/src')),
  );
  if (existsSync(built) && statSync(built).mtimeMs > sources) return true;
  console.log('Building the web app (once, and again whenever its sources change)…');
  const result = spawnSync('npm', ['run', 'build', '-w', '@tuvens/web'], { cwd: ROOT, stdio: 'inherit' });
  return result.status === 0;
}

const children: ChildProcess[] = [];

function launch(service: Service): ChildProcess {
  const child = spawn(NODE, [service.entry], {
    cwd: join(ROOT, service.dir),
    env: { LOG_LEVEL: 'warn', ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${service.name}]`.padEnd(12);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) console.log(`${prefix}${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}stopped (${signal ?? `exit code ${code}`}); stopping everything.`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitUntilHealthy(service: Service, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL(service.health, service.url), {
        signal: AbortSignal.timeout(2_000),
      });
      if (response.ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${service.name} did not become healthy at ${service.url}${service.health}`);
}

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => (child.exitCode === null ? child.on('exit', resolve) : resolve(null))),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const webBuilt = buildWebIfStale();
const running = SERVICES.filter((service) =>
  service.name === 'web' ? webBuilt : existsSync(join(ROOT, service.dir, service.entry)),
);
for (const service of running) launch(service);
try {
  await Promise.all(running.map((service) => waitUntilHealthy(service)));
} catch (error) {
  console.error((error as Error).message);
  await stop(1);
}

const line = (label: string, url: string, what: string) => `  ${label.padEnd(11)}${url.padEnd(26)}${what}`;
const has = (name: string) => running.some((service) => service.name === name);
console.log(
  [
    '',
    `Tuvens × Hi.Events ticketing is running on embedded PGlite (data in ${DATA_DIR}).`,
    has('web') ? line('Open', WEB_URL, 'the Tuvens web app: start here') : '',
    line('API', API_URL, 'tuvens-api (OpenAPI docs at /docs)'),
    has('connector')
      ? line('Connector', CONNECTOR_URL, 'the Hi.Events side: cross-app sign-in, status delivery')
      : '',
    has('emulator') ? line('Hi.Events', HI_EVENTS_URL, 'the Hi.Events emulator (development stand-in)') : '',
    '',
    'Demo logins, all with the password "tuvens-demo":',
    '  organizer@tuvens.test   owner of "Tuvens Demo Events": can enable ticketing',
    '  member@tuvens.test      member of it: may view, may not manage ticketing',
    '  attendee@tuvens.test    no account',
    '',
    ...(developmentSecretsInUse().length > 0
      ? [
          `Warning: development secrets are in use (${developmentSecretsInUse().join(', ')}).`,
          'Never run like this in production.',
        ]
      : []),
    'Press Ctrl-C to stop.',
    '',
  ]
    .filter((text, index, all) => text !== '' || all[index - 1] !== '')
    .join('\n'),
);
