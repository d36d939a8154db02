/** tuvens-api and the connector as real processes, and the Hi.Events emulator beside them. */

import { fileURLToPath } from 'node:url';
import { loadEmulatorConfig, type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import {
  startService as startTestService,
  stopAllProcesses,
  type ServiceProcess as TestProcess,
} from '@tuvens/testing';
import type { Secrets } from './secrets.ts';
import { GiveUp } from './waiting.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A service process of the suite: the shared process handling, plus where it answers. */
export interface ServiceProcess extends TestProcess {
  readonly url: string;
  readonly port: number;
  /** Stops a wait with the reason and its last log lines if the process has ended. */
  assertRunning(): void;
}

/** Stops every service a test started that is still running. */
export const stopAllServices = stopAllProcesses;

/** Starts apps/<app>/src/main.ts on `port` and waits until its `/healthz` answers 200. */
export async function startService(options: {
  name: string;
  app: 'api' | 'connector';
  port: number;
  env: Record<string, string>;
}): Promise<ServiceProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  const service = await startTestService({
    name: options.name,
    script: 'src/main.ts',
    cwd: `${ROOT}apps/${options.app}`,
    env: options.env,
    readyUrl: `${url}/healthz`,
    accept: (status) => status === 200,
    timeoutMs: 90_000,
  });
  return Object.assign(service, {
    url,
    port: options.port,
    assertRunning() {
      if (!service.isRunning()) {
        throw new GiveUp(
          `${options.name} is gone (${service.exitStatus()}); its last log lines:\n${lastWords(service.output)}`,
        );
      }
    },
  });
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
