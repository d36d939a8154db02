import type { LoginResponse } from '@tuvens/contracts';
import { openTestDatabase, type TestDatabase } from '@tuvens/database/testing';
import { buildApp } from '../src/app.ts';
import { type Clock, systemClock } from '../src/clock.ts';
import { type ApiConfig, loadConfig } from '../src/config.ts';
import { apiMigrations } from '../src/database/migrations/index.ts';
import type { ApiDatabase } from '../src/database/schema.ts';
import { DEMO_PASSWORD, seedDemoData } from '../src/demo/demo-data.ts';
import type { App } from '../src/http/context.ts';

export { DEMO_PASSWORD };
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
