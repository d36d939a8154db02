import type { MigrationSet } from '@tuvens/database';
import * as initial from './0001-initial.ts';
import * as sessionGuard from './0002-session-guard.ts';

/** Every migration of the connector, with its own history table, so that it can share a database with tuvens-api. */
export const connectorMigrations: MigrationSet = {
  table: 'connector_migration',
  legacyMarker: 'status_outbox',
  migrations: {
    '0001-initial': initial,
    '0002-session-guard': sessionGuard,
  },
};
