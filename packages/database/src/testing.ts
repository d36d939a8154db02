import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { type Database, type DatabaseKind, type MigrationSet, openDatabase } from './index.ts';

/**
 * The database that tests use: a new, migrated PostgreSQL database on the server named by
 * `DATABASE_URL` when it is set (dropped again by `close`), otherwise a new in-memory PGlite.
 * Without migrations it is empty.
 */
export interface TestDatabase<DB> extends Database<DB> {
  /** The connection string of the new PostgreSQL database, so a second instance can share it. */
  readonly url: string | undefined;
}

export const testDatabaseKind: DatabaseKind = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export async function openTestDatabase<DB>(migrations?: MigrationSet): Promise<TestDatabase<DB>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase<DB>({ migrations });
    return Object.assign(database, { url: undefined });
  }
  const name = `tuvens_test_${randomBytes(6).toString('hex')}`;
  await runAdmin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase<DB>({ url: url.toString(), poolSize: 20, migrations });
  return {
    ...database,
    url: url.toString(),
    async close() {
      await database.close();
      await runAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A database for code that opens its own from the environment, as the operator commands do: the
 * `DATABASE_URL` of a new, migrated PostgreSQL database when `DATABASE_URL` is set, otherwise a new
 * PGlite data folder, named by `dataDirVariable`. `close` drops it.
 */
export async function openTestEnvironment(
  migrations: MigrationSet,
  dataDirVariable: string,
): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  if (testDatabaseKind === 'postgres') {
    const database = await openTestDatabase(migrations);
    // Only its URL is needed; the database itself stays until `close`.
    return { env: { DATABASE_URL: database.url! }, close: () => database.close() };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tuvens-test-'));
  return {
    env: { [dataDirVariable]: dataDir },
    close: async () => rmSync(dataDir, { recursive: true, force: true }),
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

/**
 * Runs statements in order on a PostgreSQL connection of their own, outside any pool, as another
 * process would: a newer version migrating during a rolling deploy, say.
 */
export async function runOnOwnConnection(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Migrates as versions before `MigrationSet.table` did, recording the history in Kysely's default
 * `kysely_migration`: the database an upgrade starts from.
 */
export async function migrateAsEarlierVersions(
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema exists
  db: Kysely<any>,
  migrations: MigrationSet['migrations'],
): Promise<void> {
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
  }).migrateToLatest();
  if (error) throw error;
}
