/** The benchmark's one database: on the real PostgreSQL server when it answers, else on PGlite. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { errorText } from './report.ts';
import { BENCH_DATABASE, databaseChoice, log, POSTGRES_SERVER_URL } from './setup.ts';

export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  /** The bench database's connection string (PostgreSQL only). */
  url: string | undefined;
  /** PGlite's data folder (PGlite only). */
  dataDir: string | undefined;
  /** The server version, or why the suite fell back to PGlite. */
  description: string;
}

/**
 * A fresh, empty bench database: `tuvens_bench` dropped and created again on PostgreSQL at
 * 127.0.0.1:5432, or, when that server does not answer, a new PGlite folder.
 */
export async function prepareDatabase(): Promise<BenchDatabase> {
  const pglite = (why: string): BenchDatabase => ({
    kind: 'pglite',
    url: undefined,
    dataDir: mkdtempSync(join(tmpdir(), 'tuvens-bench-pglite-')),
    description: `EMBEDDED PGLITE, NOT POSTGRESQL: ${why}`,
  });
  if (databaseChoice.forcePglite) return pglite('asked for with --pglite');
  const admin = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => {});
    return pglite(`PostgreSQL at 127.0.0.1:5432 did not answer (${errorText(error)})`);
  }
  try {
    const { rows } = await admin.query<{ version: string }>('select version()');
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
    const url = new URL(POSTGRES_SERVER_URL);
    url.pathname = `/${BENCH_DATABASE}`;
    const version = rows[0]?.version.split(' on ')[0] ?? 'PostgreSQL';
    return { kind: 'postgres', url: url.toString(), dataDir: undefined, description: version };
  } finally {
    await admin.end();
  }
}

/** Drops the bench database (or deletes PGlite's folder) once a scenario is done with it. */
export async function disposeDatabase(database: BenchDatabase): Promise<void> {
  if (database.dataDir) rmSync(database.dataDir, { recursive: true, force: true });
  if (!database.url) return;
  const admin = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  } catch (error) {
    log(`could not drop ${BENCH_DATABASE}: ${errorText(error)}`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/** Runs a statement on the bench database directly (PostgreSQL only), outside the API under test. */
export async function queryBenchDatabase<T extends pg.QueryResultRow>(
  database: BenchDatabase,
  text: string,
): Promise<T[]> {
  if (!database.url) throw new Error('only PostgreSQL can be queried from outside the API');
  const client = new pg.Client({ connectionString: database.url });
  // A connection ended by the server (the database dropped) fails its query; unheard, it would end the run.
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}
