import type { MigrationSet } from '@tuvens/database';
import * as initial from './0001-initial.ts';
import * as ticketingChanges from './0002-ticketing-changes.ts';
import * as sessionCodeChallenge from './0003-session-code-challenge.ts';
import * as tokenVersions from './0004-token-versions.ts';
import * as ticketSummary from './0005-ticket-summary.ts';
import * as publicChangeNumbers from './0006-public-change-numbers.ts';
import * as rateLimitCounters from './0007-rate-limit-counters.ts';

/** Every migration of tuvens-api, with its own history table, so that it can share a database with the connector. */
export const apiMigrations: MigrationSet = {
  table: 'api_migration',
  legacyMarker: 'crossAppSession',
  migrations: {
    '0001-initial': initial,
    '0002-ticketing-changes': ticketingChanges,
    '0003-session-code-challenge': sessionCodeChallenge,
    '0004-token-versions': tokenVersions,
    '0005-ticket-summary': ticketSummary,
    '0006-public-change-numbers': publicChangeNumbers,
    '0007-rate-limit-counters': rateLimitCounters,
  },
};
