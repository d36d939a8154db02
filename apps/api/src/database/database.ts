import { type Database, openDatabase } from '@tuvens/database';
import type { ApiConfig } from '../config.ts';
import { apiMigrations } from './migrations/index.ts';
import type { ApiDatabase } from './schema.ts';

export type ApiDb = Database<ApiDatabase>;
export type { ApiDatabase };

/** Opens the configured database (PostgreSQL when `DATABASE_URL` is set, PGlite otherwise) and migrates it. */
export function openApiDatabase(config: ApiConfig): Promise<ApiDb> {
  return openDatabase<ApiDatabase>({ ...config.database, migrations: apiMigrations });
}
