import { type Database, migrateToLatest, openDatabase } from '@tuvens/database';
import type { ApiConfig } from '../config.ts';
import { apiMigrations } from './migrations/index.ts';
import type { ApiDatabase } from './schema.ts';

export type ApiDb = Database<ApiDatabase>;
export type { ApiDatabase };

/** Opens the configured database (PostgreSQL when `DATABASE_URL` is set, PGlite otherwise) and migrates it. */
export async function openApiDatabase(config: ApiConfig): Promise<ApiDb> {
  const database = await openDatabase<ApiDatabase>({
    url: config.database.url,
    dataDir: config.database.dataDir,
    preparedStatements: config.database.preparedStatements,
  });
  await migrateToLatest(database.db, apiMigrations);
  return database;
}
