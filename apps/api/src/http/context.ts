import type { Clock } from '@tuvens/server';
import type { Kysely } from 'kysely';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { ApiConfig } from '../config.ts';
import type { ApiDb } from '../database/database.ts';
import type { ApiDatabase } from '../database/schema.ts';
import type { Metrics } from '../operations/metrics.ts';
import type { ChangeAnnouncer } from '../ticketing/change-log.ts';

/** What every route module is given: the config, the database, the clock, the metrics and the change announcer. */
export interface AppContext {
  readonly config: ApiConfig;
  readonly database: ApiDb;
  readonly db: Kysely<ApiDatabase>;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Tells every instance's live clients of a committed ticketing change. */
  readonly changes: ChangeAnnouncer;
}

export function requestOrigin(request: {
  ip: string;
  clientAddress?: string;
  headers: Record<string, unknown>;
}): RequestOrigin {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.clientAddress || request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
  };
}

// The App type and per-route rate limits are the servers' shared ones.
export { type App, perMinute, RATE_LIMIT_WINDOW_MS } from '@tuvens/server';
