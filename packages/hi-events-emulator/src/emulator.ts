import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify';
import { registerAuthRoutes } from './api/auth-routes.ts';
import { registerEventRoutes } from './api/event-routes.ts';
import { issueToken, type TokenSettings } from './auth/tokens.ts';
import { DEVELOPMENT_JWT_SECRET, type EmulatorConfig, loadEmulatorConfig } from './config.ts';
import type { Emulator, EmulatorContext } from './http/context.ts';
import { EmulatorError, errorBody } from './http/errors.ts';
import { registerRateLimit } from './http/rate-limit.ts';
import { sendProblemPage } from './pages/html.ts';
import { registerManagePages } from './pages/manage-pages.ts';
import { registerPublicPages } from './pages/public-pages.ts';
import { persistStore } from './state/persistence.ts';
import { HiEventsStore } from './state/store.ts';
import { WebhookDispatcher } from './webhooks/dispatcher.ts';

export type { DeliveryRecord } from './webhooks/dispatcher.ts';
export { phpJsonEncode } from './webhooks/dispatcher.ts';
export type { EmulatorConfig };
export { DEVELOPMENT_JWT_SECRET, loadEmulatorConfig };

const MAX_BODY_BYTES = 64 * 1024;

export interface EmulatorOptions {
  /** By default the development config: port 4200 on 127.0.0.1, the development JWT secret. */
  config?: EmulatorConfig;
  /** The source of "now", so that tests can move an event past its end. */
  clock?: () => Date;
  /** How webhooks leave the emulator. */
  fetch?: typeof fetch;
  /** Fastify's logger option; by default JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'];
}

export interface RunningEmulator {
  app: Emulator;
  store: HiEventsStore;
  webhooks: WebhookDispatcher;
  config: EmulatorConfig;
  /** The base URL it listens on (its Hi.Events URL), e.g. `http://127.0.0.1:4200`. */
  url: string;
  /** Signs a user in as Hi.Events would and answers the API token. */
  issueToken(input: { userId: number; accountId: number }): Promise<string>;
  close(): Promise<void>;
}

/** Builds the emulated Hi.Events: its API under `/api`, the organizer's pages and the public pages. */
export async function buildEmulator(options: EmulatorOptions = {}) {
  const config = options.config ?? loadEmulatorConfig({ NODE_ENV: 'development' });
  const clock = options.clock ?? (() => new Date());
  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
    },
    bodyLimit: MAX_BODY_BYTES,
  });
  const store = new HiEventsStore(clock);
  const persisted = config.dataDir ? persistStore(store, config.dataDir) : { loaded: false };
  const webhooks = new WebhookDispatcher(store, options.fetch ?? fetch, app.log, config.queueWorkers);
  // Order and product webhooks leave within the request that caused them, before its answer.
  app.addHook('onRequest', (_request, _reply, done) => webhooks.inRequest(done));
  app.addHook('onSend', async (_request, _reply, payload) => {
    await webhooks.sentInRequest();
    return payload;
  });
  let publicUrl = config.publicUrl;
  const tokens: TokenSettings = {
    secret: new TextEncoder().encode(config.jwtSecret),
    ttlSeconds: config.jwtTtlSeconds,
    issuer: () => publicUrl ?? '',
  };
  const ctx: EmulatorContext = {
    store,
    webhooks,
    tokens,
    version: config.version,
    publicUrl: () => publicUrl ?? '',
  };

  // Errors: Hi.Events' `{message, errors}` (with the project's `error` object) on the API, a page elsewhere.
  app.setErrorHandler((error: FastifyError | EmulatorError, request, reply) => {
    const api = request.url.startsWith('/api/');
    if (error instanceof EmulatorError) {
      return api
        ? reply.status(error.statusCode).send(errorBody(error.code, error.message, error.errors))
        : sendProblemPage(reply, error.statusCode, 'That did not work', error.message);
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'unhandled error');
    const code =
      status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    const message = status === 500 ? 'Something went wrong' : error.message;
    return api
      ? reply.status(status).send(errorBody(code, message))
      : sendProblemPage(reply, status, 'That did not work', message);
  });
  app.setNotFoundHandler((request, reply) =>
    request.url.startsWith('/api/')
      ? reply
          .status(404)
          .send(errorBody('not_found', `No route ${request.method} ${request.url.split('?')[0]}`))
      : sendProblemPage(reply, 404, 'Page not found', 'There is nothing at this address.'),
  );

  // Form bodies for the organizer's pages; JSON is Fastify's own.
  await app.register(formbody, { bodyLimit: MAX_BODY_BYTES });

  // Hi.Events' per-user limit on its API.
  registerRateLimit(app, { store, tokens, perMinute: config.apiRateLimitPerMinute });

  // Health, for `npm start` and test harnesses to wait on.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));

  // API, organizer pages, public pages.
  registerAuthRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerManagePages(app, ctx);
  registerPublicPages(app, ctx);

  return {
    app,
    store,
    webhooks,
    config,
    tokens,
    restoredFromDisk: persisted.loaded,
    setPublicUrl(url: string) {
      publicUrl ??= url;
    },
  };
}

/** Builds the emulator and listens; `port: 0` picks a free port (tests). */
export async function startEmulator(options: EmulatorOptions & { port?: number; host?: string } = {}) {
  const config =
    options.config ??
    loadEmulatorConfig({ NODE_ENV: 'development', EMULATOR_PORT: String(options.port ?? 4200) });
  const built = await buildEmulator({ ...options, config });
  const address = await built.app.listen({
    host: options.host ?? built.config.host,
    port: options.port ?? built.config.port,
  });
  built.setPublicUrl(address);
  const running: RunningEmulator = {
    app: built.app,
    store: built.store,
    webhooks: built.webhooks,
    config: built.config,
    url: built.config.publicUrl ?? address,
    issueToken: ({ userId, accountId }) =>
      issueToken(built.tokens, {
        userId,
        accountId,
        role: built.store.membership(userId, accountId)?.role ?? 'ORGANIZER',
        now: built.store.now(),
      }),
    async close() {
      await built.webhooks.idle();
      await built.app.close();
    },
  };
  return running;
}
