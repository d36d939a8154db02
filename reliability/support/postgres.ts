/** The real PostgreSQL server: its scratch databases, plain SQL, and restarting it. */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { pollUntil } from './waiting.ts';

const run = promisify(execFile);

const POSTGRES_HOST = '127.0.0.1';
const POSTGRES_PORT = 5432;
/** The PostgreSQL server the suite creates its databases on (trust auth for `postgres` on loopback). */
export const POSTGRES_SERVER_URL = `postgres://postgres@${POSTGRES_HOST}:${POSTGRES_PORT}/postgres`;

/** Fails with a clear message when the PostgreSQL server the suite needs does not answer. */
export async function requirePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `The reliability suite needs PostgreSQL on ${POSTGRES_HOST}:${POSTGRES_PORT} (user postgres, trust auth), ` +
        `and it does not answer (${(error as Error).message}). Start it with ` +
        `"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start".`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

async function runAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_SERVER_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server; the service that uses it migrates it on start. */
export async function createDatabase(label: string): Promise<ScratchDatabase> {
  const name = `tuvens_rel_${label}_${randomBytes(5).toString('hex')}`;
  await runAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_SERVER_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => runAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Plain SQL against one database, for counting what the services wrote. */
export interface Sql {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function openSql(url: string): Sql {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
  // Connections lost while the server restarts are replaced on the next query. A connection the pool
  // has lent out has no listener of the pool's own, and an unheard 'error' would end the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return {
    async rows<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    close: () => pool.end(),
  };
}

async function postgresCluster(action: 'start' | 'stop' | 'restart'): Promise<void> {
  const [version] = readdirSync('/etc/postgresql');
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { timeout: 120_000 });
}

export async function isPostgresReady(): Promise<boolean> {
  try {
    await run('pg_isready', ['-h', POSTGRES_HOST, '-p', String(POSTGRES_PORT), '-q'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** `pg_ctlcluster restart`: a quick bounce that drops every connection; resolves once it accepts them again. */
export async function restartPostgres(): Promise<void> {
  await postgresCluster('restart');
  await pollUntil('pg_isready', isPostgresReady, { timeoutMs: 60_000, intervalMs: 200 });
}

export async function stopPostgres(): Promise<void> {
  await postgresCluster('stop');
}

/** Starts the server and waits until `pg_isready` says it accepts connections. */
export async function startPostgres(): Promise<void> {
  if (!(await isPostgresReady())) await postgresCluster('start').catch(() => {});
  await pollUntil('pg_isready', isPostgresReady, { timeoutMs: 60_000, intervalMs: 200 });
}
