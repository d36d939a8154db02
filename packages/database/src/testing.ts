import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import {
  type Database,
  type DatabaseKind,
  type MigrationSet,
  migrateToLatest,
  openDatabase,
} from './index.ts';

/**
 * The database that tests use: a new, migrated PostgreSQL database on the server named by
 * `DATABASE_URL` when it is set (dropped again by `close`), otherwise a new in-memory PGlite.
 */
export interface TestDatabase<DB> extends Database<DB> {
  /** The connection string of the new PostgreSQL database, so a second instance can share it. */
  readonly url: string | undefined;
}

export const testDatabaseKind: DatabaseKind = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export async function openTestDatabase<DB>(migrations?: MigrationSet): Promise<TestDatabase<DB>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pgliteDump = migrations && (await migratedPgliteDump(migrations));
    const database = await openDatabase<DB>({ pgliteDump });
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
  // The folder starts migrated, so that the code under test starts as fast as it would in use.
  const pglite = await PGlite.create({ dataDir, loadDataDir: await migratedPgliteDump(migrations) });
  await pglite.close();
  return {
    env: { [dataDirVariable]: dataDir },
    close: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

const dumps = new Map<string, Promise<Blob>>();

/**
 * A dump of a PGlite cluster with `migrations` applied. Creating a cluster (initdb) is most of what a
 * new PGlite costs, several seconds on a busy machine, while loading a dump takes a fraction of that;
 * so each set of migrations is applied once and its dump kept in the temporary folder, named by a
 * hash of the migrations' code and PGlite's version, for every test process of every later run.
 */
function migratedPgliteDump(migrations: MigrationSet): Promise<Blob> {
  const key = migrationsKey(migrations);
  let dump = dumps.get(key);
  if (!dump) {
    dump = readOrMakeDump(key, migrations);
    dumps.set(key, dump);
  }
  return dump;
}

async function readOrMakeDump(key: string, migrations: MigrationSet): Promise<Blob> {
  const dir = join(tmpdir(), 'tuvens-test-databases');
  const file = join(dir, `${key}.tar`);
  try {
    return new Blob([readFileSync(file)]);
  } catch {}
  const pglite = await PGlite.create();
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema exists
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
  try {
    await migrateToLatest(db, migrations);
    const dump = await pglite.dumpDataDir('none');
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed, so that a process reading it at the same time never sees half of it.
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
    renameSync(partial, file);
    return dump;
  } finally {
    await db.destroy();
  }
}

function migrationsKey(set: MigrationSet): string {
  const hash = createHash('sha256').update(`${PGLITE_VERSION}\0${set.table}`);
  for (const [name, migration] of Object.entries(set.migrations).sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`\0${name}\0${migration.up.toString()}\0${migration.down?.toString() ?? ''}`);
  }
  return hash.digest('hex').slice(0, 32);
}

// The package does not export its package.json; it sits beside the `dist` folder of its entry.
const PGLITE_VERSION: string = (
  JSON.parse(
    readFileSync(
      join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '../package.json'),
      'utf8',
    ),
  ) as { version: string }
).version;

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
