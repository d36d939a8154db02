import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The API's Prometheus metrics: the seed's monitoring points (session generation and validation,
 * webhook deliveries, SSE, widget load timing, session table size and cleanup) plus HTTP latency.
 * Each app instance has its own registry, so several instances in one process do not collide.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    crossAppCalls: new Counter({
      name: 'tuvens_cross_app_calls_total',
      help: 'Cross-app session generations, validations and uses by call and outcome (success or the refusal reason)',
      labelNames: ['call', 'outcome'] as const,
      registers,
    }),
    webhooksReceived: new Counter({
      name: 'tuvens_webhooks_received_total',
      help: 'Status webhooks received by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    sseConnections: new Gauge({
      name: 'tuvens_sse_connections',
      help: 'Open Server-Sent Events connections',
      registers,
    }),
    sseMessages: new Counter({
      name: 'tuvens_sse_messages_total',
      help: 'Server-Sent Events messages written to clients',
      registers,
    }),
    widgetLoad: new Histogram({
      name: 'tuvens_widget_load_seconds',
      help: 'Time until the Hi.Events widget loaded or fell back, as reported by browsers',
      labelNames: ['outcome'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13],
      registers,
    }),
    crossAppSessions: new Gauge({
      name: 'tuvens_cross_app_sessions',
      help: 'Rows in the crossAppSession table by state, as of the last cleanup run',
      labelNames: ['state'] as const,
      registers,
    }),
    cleanupRuns: new Counter({
      name: 'tuvens_cleanup_runs_total',
      help: 'Cleanup job runs by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    cleanupDeleted: new Counter({
      name: 'tuvens_cleanup_deleted_total',
      help: 'Rows deleted by the cleanup job by kind: session, webhook_receipt, audit_entry, rate_limit_counter',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
