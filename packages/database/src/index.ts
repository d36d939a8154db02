import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { type MigrationSet, migrateToLatest } from './migrations.ts';

export type DatabaseKind = 'postgres' | 'pglite';

/** Receives the payload of one notification. */
export type NotificationHandler = (payload: string) => void;

/** An open database: Kysely over PostgreSQL or embedded PGlite, and LISTEN on either. */
export interface Database<DB> {
  readonly db: Kysely<DB>;
  readonly kind: DatabaseKind;
  /** Subscribes to a NOTIFY channel; resolves to the function that unsubscribes. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Whether a trivial query answers now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A PostgreSQL connection string; when absent, embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite's data folder; when absent, PGlite keeps everything in memory. */
  dataDir?: string | undefined;
  /** Most pooled PostgreSQL connections. */
  poolSize?: number | undefined;
  /**
   * Whether parameterised queries outside transactions run as named prepared statements, parsed and
   * planned once per connection (on by default; see `PreparingClient`). Turn it off behind a pooler
   * that cannot keep them, such as PgBouncer before 1.21 in transaction mode.
   */
  preparedStatements?: boolean | undefined;
  /** Migrations to bring the schema up to date with before the database is handed over. */
  migrations?: MigrationSet | undefined;
  /** PGlite only: a dump of a data folder (PGlite's `dumpDataDir`) to start from, instead of an empty cluster. */
  pgliteDump?: Blob | undefined;
}

const INT8_OID = 20;
// Ids and counts are int8; all of ours stay far below 2^53, so plain numbers are safe and simpler.
const parseInt8 = (value: string) => Number(value);

export async function openDatabase<DB>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  const database = options.url
    ? await openPostgres<DB>(options.url, options.poolSize ?? 10, options.preparedStatements ?? true)
    : await openPglite<DB>(options.dataDir, options.pgliteDump);
  if (options.migrations) {
    try {
      await migrateToLatest(database.db, options.migrations);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}

async function openPostgres<DB>(
  url: string,
  poolSize: number,
  preparedStatements: boolean,
): Promise<Database<DB>> {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types,
    connectionTimeoutMillis: 5_000,
    ...(preparedStatements && { Client: PreparingClient }),
  });
  // A client that loses its server (a restart, a failover, pg_terminate_backend) emits 'error'. An idle
  // one emits on the pool; one lent out emits on itself, where pg-pool listens no longer — unheard, that
  // error would end the process. Its query fails on its own, and the pool drops the broken client.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const listeners = new PostgresListeners(url);
  return {
    db,
    kind: 'postgres',
    listen: (channel, handler) => listeners.listen(channel, handler),
    ping: () => pingDatabase(db),
    async close() {
      await listeners.close();
      await db.destroy();
    },
  };
}

async function openPglite<DB>(dataDir: string | undefined, dump: Blob | undefined): Promise<Database<DB>> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir, loadDataDir: dump, parsers: { [INT8_OID]: parseInt8 } });
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    // PGlite delivers NOTIFY to listeners in this process, which is all an embedded database has.
    listen: async (channel, handler) => {
      const unlisten = await pglite.listen(channel, handler);
      return async () => unlisten();
    },
    ping: () => pingDatabase(db),
    async close() {
      await db.destroy();
      // The dialect closes PGlite only once a query has run; an unused one would keep the process alive.
      if (!pglite.closed) await pglite.close();
    },
  };
}

/** Most distinct query texts given a statement name; beyond it, queries are parsed each time as before. */
const MAX_STATEMENT_NAMES = 500;
const statementNames = new Map<string, string>();
let statementsNamed = 0;

/**
 * The name under which a query text is prepared, the same on every connection. Kysely compiles a
 * query to the same text whatever its values, so a process has few distinct texts; the cap keeps
 * texts that vary (long `in (…)` lists) from filling every connection with statements.
 */
function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_STATEMENT_NAMES) {
    name = `tuvens_${++statementsNamed}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Gives a text whose prepared statement went stale a new name, so that every connection prepares it
 * afresh on its next use. The stale statement stays on the connections that hold it, unused, until
 * they close. A name already replaced (another connection met the same change first) stays replaced.
 */
function retireStatementName(text: string, staleName: string): void {
  if (statementNames.get(text) === staleName) statementNames.set(text, `tuvens_${++statementsNamed}`);
}

/**
 * Whether PostgreSQL refused a prepared statement because the columns it returns changed since it
 * was prepared, as `select *` does once another process adds a column (a rolling deploy with a
 * migration). SQLSTATE 0A000 is "feature not supported" in general, hence the message as well.
 */
function isStalePlan(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error as { code?: unknown }).code === '0A000' &&
    error.message.includes('cached plan must not change result type')
  );
}

/**
 * A pooled client that runs each parameterised query as a named prepared statement: PostgreSQL
 * parses and plans it on a connection's first use only, which halves its CPU per query here.
 * Queries without parameters (BEGIN, COMMIT, migrations' DDL) keep the simple protocol.
 *
 * Another process may change a table under a prepared statement (a rolling deploy that adds a
 * column). Outside a transaction the statement is then prepared again under a new name and run
 * again, so the caller never sees the change. Inside a transaction the refusal would already have
 * aborted it, so queries there are not named: they are parsed each time, as without this client.
 */
class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads are forwarded as they are
  override query(config: any, values?: any, callback?: any): any {
    if (
      typeof config === 'string' &&
      Array.isArray(values) &&
      values.length > 0 &&
      callback === undefined &&
      // Kysely sends a connection's next query only once the last one has answered, so this is
      // the status the query runs in: idle, not inside a transaction.
      this.getTransactionStatus() === 'I'
    ) {
      const name = statementName(config);
      if (name) return this.#queryPrepared(name, config, values);
    }
    return super.query(config, values, callback);
  }

  async #queryPrepared(name: string, text: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await super.query({ name, text, values });
    } catch (error) {
      if (!isStalePlan(error)) throw error;
      retireStatementName(text, name);
      return super.query({ name: statementName(text), text, values });
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: any schema will do for `select 1`
async function pingDatabase(db: Kysely<any>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * One dedicated connection holding every LISTEN of this process; it reconnects after a
 * lost connection and listens again, so a database restart only pauses notifications.
 */
class PostgresListeners {
  readonly #url: string;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      const client = await this.#connect();
      await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      for (const handler of this.#handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', () => this.#lose(client));
    client.on('end', () => this.#lose(client));
    await client.connect();
    for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    this.#client = client;
    return client;
  }

  #lose(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    this.#scheduleReconnect(250);
  }

  #scheduleReconnect(delayMs: number): void {
    if (this.#closed) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#connect().catch(() => this.#scheduleReconnect(Math.min(delayMs * 2, 5_000)));
    }, delayMs);
    this.#reconnectTimer.unref();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export { compileOnce } from './compile-once.ts';
export { LEGACY_MIGRATION_TABLE, type MigrationSet, migrateToLatest } from './migrations.ts';
export type { Migration };
export { sql };
