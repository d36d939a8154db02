import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, type DatabaseKind, type Migration, migrateToLatest, openDatabase } from './index.ts';

/**
 * The database that tests use: a new, migrated PostgreSQL database on the server named by
 * `DATABASE_URL` when it is set (dropped again by `close`), otherwise a new in-memory PGlite.
 */
export interface TestDatabase<DB> extends Database<DB> {
  /** The connection string of the new PostgreSQL database, so a second instance can share it. */
  readonly url: string | undefined;
}

export const testDatabaseKind: DatabaseKind = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export async function openTestDatabase<DB>(migrations: Record<string, Migration>): Promise<TestDatabase<DB>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase<DB>({});
    await migrateToLatest(database.db, migrations);
    return Object.assign(database, { url: undefined });
  }
  const name = `tuvens_test_${randomBytes(6).toString('hex')}`;
  await runAdmin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase<DB>({ url: url.toString(), poolSize: 20 });
  await migrateToLatest(database.db, migrations);
  return {
    ...database,
    url: url.toString(),
    async close() {
      await database.close();
      await runAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function runAdmin(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
