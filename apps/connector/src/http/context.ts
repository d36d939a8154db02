import type { Clock } from '@tuvens/server';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { ConnectorDb } from '../database/database.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import type { HiEventsAdapter } from '../hi-events/adapter.ts';
import type { ClaimSettings } from '../linking/claims.ts';
import type { OutboxWorker } from '../outbox/worker.ts';
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
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** A per-route rate limit: `max` requests a minute from one client address. */
export function perMinute(max: number) {
  return { rateLimit: { max, timeWindow: 60_000 } };
}
