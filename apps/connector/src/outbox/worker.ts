import type { Clock } from '@tuvens/server';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { ConnectorDatabase, OutboxRow } from '../database/schema.ts';
import type { Metrics } from '../http/metrics.ts';
import { createWorkLoop } from '../work-loop.ts';
import { backoffDelayMs, type DeliveryOutcome, deliverStatusWebhook, statusWebhookUrl } from './delivery.ts';
import { claimDueMessages, markDead, markDelivered, markForRetry, nextDueAt } from './outbox.ts';

export interface OutboxWorker {
  /** Delivers every message that is due now, once; answers how many were tried. */
  runOnce(): Promise<number>;
  /** Keeps delivering in the background until `stop`. */
  start(): void;
  /** Ends the loop once the deliveries under way have ended. */
  stop(): Promise<void>;
  /** Looks for due messages now rather than at the next poll (after a change was queued). */
  wake(): void;
}

export interface OutboxWorkerDeps {
  db: Kysely<ConnectorDatabase>;
  config: ConnectorConfig;
  clock: Clock;
  fetch: typeof fetch;
  log: FastifyBaseLogger;
  metrics: Metrics;
  /** tuvens-api acknowledged this message (after it is recorded as delivered). */
  onDelivered?: (row: OutboxRow) => Promise<void>;
  /** Picks the jitter of a backoff; injected so that tests can pin it. */
  random?: (max: number) => number;
}

/**
 * The delivery loop of the status outbox. Everything it needs to resume is in the database, so a
 * restart carries on where it stopped, and several instances may run it against one database.
 */
export function createOutboxWorker(deps: OutboxWorkerDeps): OutboxWorker {
  const { db, config, clock, log, metrics } = deps;
  const settings = {
    url: statusWebhookUrl(config.tuvens.apiUrl),
    secret: config.tuvens.webhookSecrets[0]!,
    timeoutMs: config.delivery.timeoutMs,
  };
  // A claim outlives any one send, so it only lapses when its worker is gone.
  const leaseMs = config.delivery.timeoutMs + 30_000;

  async function settle(row: OutboxRow, outcome: DeliveryOutcome): Promise<void> {
    const now = clock();
    metrics.deliveries.inc({ outcome: outcome.kind });
    const context = {
      messageId: row.message_id,
      tuvensEventId: row.tuvens_event_id,
      attempt: row.attempts + 1,
    };
    switch (outcome.kind) {
      case 'delivered':
        await markDelivered(db, row.id, now, outcome.statusCode);
        await deps.onDelivered?.(row);
        log.info({ ...context, status: row.ticketing_status }, 'status delivered to tuvens-api');
        return;
      case 'retry': {
        const delayMs = backoffDelayMs(
          row.attempts + 1,
          { baseMs: config.delivery.backoffBaseMs, maxMs: config.delivery.backoffMaxMs },
          outcome.retryAfterMs,
          deps.random,
        );
        await markForRetry(db, row.id, {
          nextAttemptAt: new Date(now.getTime() + delayMs),
          error: outcome.error,
          statusCode: outcome.statusCode,
        });
        log.warn(
          { ...context, error: outcome.error, retryInMs: delayMs },
          'status delivery failed; will retry',
        );
        return;
      }
      case 'dead':
        await markDead(db, row.id, now, { error: outcome.error, statusCode: outcome.statusCode });
        log.error(
          { ...context, error: outcome.error },
          'status delivery refused for good; kept as a dead letter',
        );
        return;
    }
  }

  async function deliver(row: OutboxRow): Promise<void> {
    const outcome = await deliverStatusWebhook(
      { messageId: row.message_id, body: row.body },
      row.webhook_path ? { ...settings, url: `${config.tuvens.apiUrl}${row.webhook_path}` } : settings,
      clock(),
      deps.fetch,
    );
    await settle(row, outcome);
  }

  async function runOnce(): Promise<number> {
    const rows = await claimDueMessages(db, clock(), { limit: config.delivery.batchSize, leaseMs });
    // At most one message per event is claimed at a time, so these may go out side by side.
    await Promise.all(rows.map(deliver));
    return rows.length;
  }

  // The background loop keeps up to `batchSize` deliveries in flight and claims more as each one
  // ends, so one slow answer from tuvens-api holds back only its own event, never the others.
  const inFlight = new Set<Promise<void>>();
  const loop = createWorkLoop({
    name: 'outbox worker',
    clock,
    log,
    pollIntervalMs: config.delivery.pollIntervalMs,
    async runRound() {
      const free = config.delivery.batchSize - inFlight.size;
      if (free <= 0) return false;
      const rows = await claimDueMessages(db, clock(), { limit: free, leaseMs });
      for (const row of rows) {
        const delivery = deliver(row)
          .catch((error: unknown) => log.error({ err: error }, 'recording a delivery attempt failed'))
          .finally(() => {
            inFlight.delete(delivery);
            // Its place is free: claim the next due message now rather than at the next poll.
            loop.wake();
          });
        inFlight.add(delivery);
      }
      // As many as there was room for: more may be due already.
      return rows.length === free;
    },
    nextDueAt: async () => (inFlight.size < config.delivery.batchSize ? nextDueAt(db, clock()) : undefined),
    drain: async () => {
      await Promise.all(inFlight);
    },
  });

  return { runOnce, start: loop.start, stop: loop.stop, wake: loop.wake };
}
