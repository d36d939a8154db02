import { type Database, migrateToLatest, openDatabase } from '@tuvens/database';
import type { ConnectorConfig } from '../config.ts';
import { connectorMigrations } from './migrations/index.ts';
import type { ConnectorDatabase } from './schema.ts';

export type ConnectorDb = Database<ConnectorDatabase>;
export type { ConnectorDatabase };

/** Opens the connector's own database (PostgreSQL when `DATABASE_URL` is set, PGlite otherwise) and migrates it. */
export async function openConnectorDatabase(config: ConnectorConfig): Promise<ConnectorDb> {
  const database = await openDatabase<ConnectorDatabase>({
    url: config.database.url,
    dataDir: config.database.dataDir,
    preparedStatements: config.database.preparedStatements,
  });
  await migrateToLatest(database.db, connectorMigrations);
  return database;
}
