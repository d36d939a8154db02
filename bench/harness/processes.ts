/** Servers under test in their own Node.js processes, with a probe for memory and heap snapshots. */

import { join } from 'node:path';
import { freePort, type ServiceProcess, startProcess, waitForHttp } from '@tuvens/testing';
import type { BenchDatabase } from './database.ts';
import { BENCH_DIR, RESULTS_DIR, ROOT, SECRETS } from './setup.ts';

/** Whether `--cpu-prof` was asked for: servers under test then write V8 CPU profiles to bench/results. */
export const profiling = { enabled: false, heapSnapshots: false, label: 'run', files: [] as string[] };

/** A server under test: the shared process handling, plus its IPC probe. */
export interface NodeChild extends ServiceProcess {
  /** Full garbage collection in the child, then its memory (needs bench/process-probe.ts). */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Full garbage collection in the child, then a V8 heap snapshot written to `path`. */
  heapSnapshot(path: string): Promise<string>;
  /** Starts measuring the child's event-loop delay (perf_hooks `monitorEventLoopDelay`, 10 ms resolution). */
  loopDelayStart(): Promise<void>;
  /** The event-loop delay since `loopDelayStart`, in ms. */
  loopDelay(): Promise<LoopDelay>;
  /** The child's next IPC message that passes `filter`. */
  message<T>(filter: (message: unknown) => message is T, timeoutMs: number): Promise<T>;
  send(message: unknown): void;
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
  const service = startProcess({
    name: options.name,
    script,
    execArgv,
    cwd: ROOT,
    env: options.env,
    ipc: true,
  });
  const { child, output } = service;

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

  return Object.assign(service, {
    message,
    send: (value: unknown) => {
      if (!child.connected) throw new Error(`${options.name} has exited:\n${output.slice(-20).join('\n')}`);
      child.send(value as never);
    },
    async memory() {
      const answer = message(isMemoryAnswer, 10_000);
      child.send({ type: 'probe:memory' });
      return (await answer).memory;
    },
    async loopDelayStart() {
      const answer = message(
        (value): value is unknown => (value as { type?: unknown })?.type === 'probe:loop-delay:started',
        10_000,
      );
      child.send({ type: 'probe:loop-delay:start' });
      await answer;
    },
    async loopDelay() {
      const answer = message(
        (value): value is { type: 'probe:loop-delay'; delayMs: LoopDelay } =>
          (value as { type?: unknown })?.type === 'probe:loop-delay',
        10_000,
      );
      child.send({ type: 'probe:loop-delay' });
      return (await answer).delayMs;
    },
    async heapSnapshot(path: string) {
      const answer = message(
        (value): value is { type: 'probe:heap-snapshot'; path: string } =>
          (value as { type?: unknown })?.type === 'probe:heap-snapshot',
        300_000,
      );
      child.send({ type: 'probe:heap-snapshot', path });
      return (await answer).path;
    },
  });
}

/** Event-loop delay percentiles, in ms. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

function isMemoryAnswer(value: unknown): value is { type: 'probe:memory'; memory: NodeJS.MemoryUsage } {
  return (value as { type?: unknown })?.type === 'probe:memory';
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
    RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE: '1000000',
    // Every benchmark client comes from loopback: the stream caps would otherwise count them as one.
    SSE_MAX_STREAMS: '1000000',
    SSE_MAX_STREAMS_PER_CLIENT: '1000000',
    SSE_MAX_STREAMS_PER_USER: '1000000',
    HI_EVENTS_URL: 'http://127.0.0.1:4100',
    HI_EVENTS_PUBLIC_URL: 'http://127.0.0.1:4200',
    WEB_URL: 'http://127.0.0.1:3000',
    ...(database.url ? { DATABASE_URL: database.url } : { API_DATA_DIR: database.dataDir! }),
    ...options.env,
  };
  const child = startNodeChild(join(ROOT, 'apps/api/src/main.ts'), { env, name: 'api', profile: true });
  try {
    await waitForHttp(child, `${url}/readyz`, { accept: (status) => status < 300 });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url, database };
}
