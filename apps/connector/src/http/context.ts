import type { Clock } from '@tuvens/server';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { ConnectorDb } from '../database/database.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import type { HiEventsAdapter } from '../hi-events/adapter.ts';
import type { ClaimSettings } from '../linking/claims.ts';
import type { OutboxWorker } from '../outbox/worker.ts';
import type { TicketSummaryWorker } from '../tickets/summary-worker.ts';
import type { TuvensApiClient } from '../tuvens/tuvens-api.ts';
import type { Metrics } from './metrics.ts';

/** What every route module is given. */
export interface AppContext {
  readonly config: ConnectorConfig;
  readonly database: ConnectorDb;
  readonly db: Kysely<ConnectorDatabase>;
  readonly clock: Clock;
  readonly hiEvents: HiEventsAdapter;
  readonly tuvens: TuvensApiClient;
  readonly claims: ClaimSettings;
  readonly metrics: Metrics;
  readonly outbox: OutboxWorker;
  readonly ticketSummaries: TicketSummaryWorker;
}

// The App type and per-route rate limits are the servers' shared ones.
export { type App, perMinute } from '@tuvens/server';
