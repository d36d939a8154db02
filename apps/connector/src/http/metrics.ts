import type { Kysely } from 'kysely';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ConnectorDatabase } from '../database/schema.ts';
import { countMessages } from '../outbox/outbox.ts';

/** The connector's Prometheus metrics, in a registry of its own so that several instances can share a process. */
export function createMetrics(db: Kysely<ConnectorDatabase>) {
  const registry = new Registry();
  const metrics = {
    registry,
    signIns: new Counter({
      name: 'connector_sign_ins_total',
      help: 'Cross-app sign-ins by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    hiEventsWebhooks: new Counter({
      name: 'connector_hi_events_webhooks_total',
      help: 'Webhooks received from Hi.Events by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'connector_status_deliveries_total',
      help: 'Attempts to deliver a status webhook to tuvens-api by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    reconciliations: new Counter({
      name: 'connector_reconciled_events_total',
      help: 'Linked events re-read from Hi.Events by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    cleanupRuns: new Counter({
      name: 'connector_cleanup_runs_total',
      help: 'Housekeeping runs by outcome: ran, skipped (another instance was at it) or failed',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    cleanupDeleted: new Counter({
      name: 'connector_cleanup_deleted_total',
      help: 'Rows deleted by housekeeping by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'connector_outbox_messages',
    help: 'Status webhooks in the outbox by state; dead ones need attention',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await countMessages(db);
      for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
    },
  });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
