import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { TICKET_SUMMARY_WEBHOOK_PATH } from '@tuvens/contracts';
import { type Clock, createServer, systemClock } from '@tuvens/server';
import type { FastifyServerOptions } from 'fastify';
import { registerAuthRoutes } from './auth/routes.ts';
import { createSessionGuard, type SessionGuard } from './auth/session-guard.ts';
import type { ConnectorConfig } from './config.ts';
import type { ConnectorDb } from './database/database.ts';
import { AppError } from './errors.ts';
import { createHiEventsAdapter, type HiEventsAdapter } from './hi-events/adapter.ts';
import type { App, AppContext } from './http/context.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createMetrics } from './http/metrics.ts';
import { scheduleCleanup } from './operations/cleanup.ts';
import { registerOutboxRoutes } from './outbox/routes.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox/worker.ts';
import { registerHiEventsWebhookRoutes } from './status/hi-events-webhooks.ts';
import { createReconciler, type Reconciler } from './status/reconciler.ts';
import { createTicketSummaryWorker, type TicketSummaryWorker } from './tickets/summary-worker.ts';
import { createTuvensApiClient, type TuvensApiClient } from './tuvens/tuvens-api.ts';

/** The largest request body the connector reads: a sign-in is tiny; Hi.Events' event webhooks are a few KiB. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Headers whose values never reach a log line. */
export const REDACTED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-shared-secret', 'signature'];

export interface ConnectorDependencies {
  config: ConnectorConfig;
  database: ConnectorDb;
  clock?: Clock;
  /** How the connector reaches tuvens-api and Hi.Events; injected so that tests can cut the line. */
  fetch?: typeof fetch;
  /** Fastify's logger option; by default JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'];
  /** Whether the outbox worker, the reconciler and the cleanup job run in the background once the app is ready. */
  runBackgroundJobs?: boolean;
  /** Picks the jitter of a retry's backoff; injected so that tests can pin it. */
  random?: (max: number) => number;
}

export interface Connector {
  app: App;
  /** The status outbox's delivery loop; tests call `runOnce` to deliver without waiting. */
  outbox: OutboxWorker;
  reconciler: Reconciler;
  /** Re-checks signed-in people with tuvens-api and signs them out of Hi.Events when Tuvens no longer backs them. */
  sessionGuard: SessionGuard;
  /** Derives ticket summaries; tests call `runOnce` to derive without waiting. */
  ticketSummaries: TicketSummaryWorker;
  hiEvents: HiEventsAdapter;
  tuvens: TuvensApiClient;
}

/** Builds the connector: middleware first, then each domain's routes, then its background jobs. */
export async function buildConnector({
  config,
  database,
  clock = systemClock,
  fetch: fetchImpl = fetch,
  logger,
  runBackgroundJobs = true,
  random,
}: ConnectorDependencies): Promise<Connector> {
  const app = createServer({
    logLevel: config.logLevel,
    redactedHeaders: REDACTED_HEADERS,
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: config.trustProxy,
    requestTimeoutMs: config.http.requestTimeoutMs,
    connectionTimeoutMs: config.http.connectionTimeoutMs,
    logger,
  });

  const metrics = createMetrics(database.db);
  const hiEvents = createHiEventsAdapter({ config, clock, fetch: fetchImpl });
  const tuvens = createTuvensApiClient({ config, fetch: fetchImpl });
  // A creation makes a few calls to Hi.Events; its claim, and the wait of those behind it, outlast them all.
  const creationMs = 4 * config.hiEvents.timeoutMs + 10_000;
  const claims = { db: database.db, clock, leaseMs: creationMs, waitMs: creationMs };
  const outbox = createOutboxWorker({
    db: database.db,
    config,
    clock,
    fetch: fetchImpl,
    log: app.log,
    metrics,
    random,
    // A ticket summary's interval runs from tuvens-api's acknowledgement, so that it never gets two within one.
    onDelivered: async (row) => {
      if (row.webhook_path === TICKET_SUMMARY_WEBHOOK_PATH)
        await ticketSummaries.delivered(row.tuvens_event_id);
    },
  });
  const ticketSummaries = createTicketSummaryWorker({
    db: database.db,
    clock,
    config,
    hiEvents,
    claims,
    log: app.log,
    onQueued: () => outbox.wake(),
  });
  const ctx: AppContext = {
    config,
    database,
    db: database.db,
    clock,
    hiEvents,
    tuvens,
    claims,
    metrics,
    outbox,
    ticketSummaries,
  };
  const onStatusQueued = () => outbox.wake();
  const reconciler = createReconciler({ ...ctx, log: app.log, onStatusQueued });
  const sessionGuard = createSessionGuard({ ...ctx, log: app.log });

  // Security headers; each page sets its own Content-Security-Policy.
  await app.register(helmet, {
    contentSecurityPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  // Cookies: the connector's session and the Hi.Events sign-in.
  await app.register(cookie);

  // Rate limits, set per route on sign-in and webhook routes.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`),
  });

  // Routes.
  registerHealthRoutes(app, ctx);
  registerAuthRoutes(app, ctx, onStatusQueued);
  registerHiEventsWebhookRoutes(app, ctx, onStatusQueued);
  registerOutboxRoutes(app, ctx, onStatusQueued);

  // Background jobs: status delivery, reconciliation and cleanup, stopped before the database closes.
  let stopCleanup = async () => {};
  if (runBackgroundJobs) {
    app.addHook('onReady', async () => {
      outbox.start();
      reconciler.start();
      sessionGuard.start();
      ticketSummaries.start();
      if (config.cleanup.intervalSeconds > 0) {
        stopCleanup = scheduleCleanup(
          { db: database.db, clock, metrics, log: app.log },
          { intervalSeconds: config.cleanup.intervalSeconds, policy: config.cleanup },
        );
      }
    });
  }
  app.addHook('onClose', async () => {
    await stopCleanup();
    await reconciler.stop();
    await sessionGuard.stop();
    await ticketSummaries.stop();
    await outbox.stop();
  });

  return { app, outbox, reconciler, sessionGuard, ticketSummaries, hiEvents, tuvens };
}
