import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { WEB_SECRET_HEADER } from '@tuvens/contracts';
import { type Clock, createServer, systemClock } from '@tuvens/server';
import type { FastifyServerOptions } from 'fastify';
import { registerAuthRoutes } from './auth/routes.ts';
import type { ApiConfig } from './config.ts';
import { registerCrossAppRoutes } from './cross-app/routes.ts';
import type { ApiDb } from './database/database.ts';
import { registerEventRoutes } from './events/routes.ts';
import { registerClientAddress } from './http/client-address.ts';
import type { App, AppContext } from './http/context.ts';
import { registerHealthRoutes } from './http/health.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerRateLimits } from './http/rate-limits.ts';
import { scheduleCleanup } from './operations/cleanup.ts';
import { createMetrics } from './operations/metrics.ts';
import { registerOperationsRoutes } from './operations/routes.ts';
import { registerEventUpdates } from './realtime/sse.ts';
import { ChangeAnnouncer } from './ticketing/change-log.ts';
import { registerTicketSummaryWebhook } from './tickets/routes.ts';
import { registerWebhookRoutes } from './webhooks/routes.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** Headers whose values never reach a log line. */
export const REDACTED_HEADERS = [
  'authorization',
  'cookie',
  'x-shared-secret',
  'x-session-token',
  WEB_SECRET_HEADER,
];

export interface AppDependencies {
  config: ApiConfig;
  database: ApiDb;
  clock?: Clock;
  /** Fastify's logger option; by default JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'];
  /** Whether the cleanup job runs on its schedule while the app is up (the process entry turns it on). */
  runBackgroundJobs?: boolean;
}

/** Builds tuvens-api: middleware first, then each domain's routes. */
export async function buildApp({
  config,
  database,
  clock = systemClock,
  logger,
  runBackgroundJobs = false,
}: AppDependencies): Promise<App> {
  const app = createServer({
    logLevel: config.logLevel,
    redactedHeaders: REDACTED_HEADERS,
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: config.trustProxy,
    requestTimeoutMs: config.http.requestTimeoutMs,
    connectionTimeoutMs: config.http.connectionTimeoutMs,
    logger,
  });
  const metrics = createMetrics();
  const changes = new ChangeAnnouncer(database.db, (error) =>
    app.log.error(
      { err: error },
      'announcing a ticketing change failed; instances find it when they next poll',
    ),
  );
  const ctx: AppContext = { config, database, db: database.db, clock, metrics, changes };
  app.addHook('onClose', () => changes.settled());

  // Latency of every answered request, by route pattern (never the raw URL, which may carry ids).
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: reply.statusCode,
      },
      reply.elapsedTime / 1000,
    );
  });

  // Security headers, and CORS for the Hi.Events side and the Tuvens web app only (seed, "Cross-Origin Configuration").
  await app.register(helmet, {
    contentSecurityPolicy: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  await app.register(cors, {
    origin: [config.hiEvents.origin, config.web.origin],
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Session-Token', 'X-Shared-Secret', 'Last-Event-ID'],
  });

  // Who is asking: the browser's address where the web server vouches for it, else the peer's.
  registerClientAddress(app, ctx);

  // Rate limits, set per route on authentication and webhook routes; refusals audited once a window.
  await registerRateLimits(app, ctx);

  // API documentation, where it is turned on (API_DOCS; off by default in production).
  if (config.docs) await registerOpenApi(app);

  // Routes.
  registerHealthRoutes(app, ctx);
  registerAuthRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerCrossAppRoutes(app, ctx);

  // The signed Hi.Events status webhook, in its own scope that keeps the raw body for verification.
  registerWebhookRoutes(app, ctx);
  registerTicketSummaryWebhook(app, ctx);

  // Live ticketing updates over SSE: one LISTEN per instance feeds every stream; streams end on close.
  await registerEventUpdates(app, ctx);

  // Operations: Prometheus metrics and the widget load beacon.
  registerOperationsRoutes(app, ctx, metrics);

  // Background: expired sessions, old webhook receipts and old audit entries are deleted on a schedule.
  if (runBackgroundJobs && config.cleanupIntervalSeconds > 0) {
    let stopCleanup = async () => {};
    app.addHook('onReady', async () => {
      stopCleanup = scheduleCleanup(ctx, config.cleanupIntervalSeconds, app.log);
    });
    app.addHook('onClose', async () => stopCleanup());
  }

  return app;
}
