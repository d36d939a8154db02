/** Where the benchmark suite runs: its paths, secrets, demo organizer and progress lines. */

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BENCH_DIR = join(ROOT, 'bench');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** The PostgreSQL server the suite uses when it can: an admin connection, never written to. */
export const POSTGRES_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';
/**
 * The only database the suite creates, drops and writes: `tuvens_bench`, or `BENCH_DATABASE` when set
 * (so that two runs on one PostgreSQL server, from two checkouts, do not drop each other's database).
 */
export const BENCH_DATABASE = benchDatabaseName(process.env.BENCH_DATABASE);

function benchDatabaseName(name: string | undefined): string {
  if (name === undefined || name === '') return 'tuvens_bench';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`BENCH_DATABASE must be a plain lower-case PostgreSQL name, not ${JSON.stringify(name)}`);
  }
  return name;
}

/** `--pglite` runs every scenario on embedded PGlite even when PostgreSQL answers. */
export const databaseChoice = { forcePglite: false };

/**
 * `--quick` runs the scenarios that take many streams or much time at a reduced scale (fewer streams,
 * shorter levels), for developing them beside other work; the figures are then not the targets' scale.
 */
export const scale = { quick: false };

/**
 * Secrets made anew for each run and set explicitly, so that the servers run with
 * NODE_ENV=production (which refuses the published development values).
 */
export const SECRETS = {
  crossApp: randomBytes(32).toString('base64url'),
  hiEvents: randomBytes(32).toString('base64url'),
  jwt: randomBytes(32).toString('base64url'),
  webApi: randomBytes(32).toString('base64url'),
} as const;

export const DEMO_ORGANIZER = { email: 'organizer@tuvens.test', password: 'tuvens-demo' } as const;

/** Progress goes to standard error, so that standard output holds only the tables. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
