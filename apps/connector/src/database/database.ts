import { type Database, openDatabase } from '@tuvens/database';
import type { ConnectorConfig } from '../config.ts';
import { connectorMigrations } from './migrations/index.ts';
import type { ConnectorDatabase } from './schema.ts';

export type ConnectorDb = Database<ConnectorDatabase>;
export type { ConnectorDatabase };

/** Opens the connector's own database (PostgreSQL when `DATABASE_URL` is set, PGlite otherwise) and migrates it. */
export function openConnectorDatabase(config: ConnectorConfig): Promise<ConnectorDb> {
  return openDatabase<ConnectorDatabase>({ ...config.database, migrations: connectorMigrations });
}
