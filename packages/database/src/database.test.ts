import { type Generated, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Migration, type MigrationSet, migrateToLatest, openDatabase } from './index.ts';
import {
  migrateAsEarlierVersions,
  openTestDatabase,
  runOnOwnConnection,
  type TestDatabase,
  testDatabaseKind,
} from './testing.ts';

interface Schema {
  notes: { id: Generated<number>; body: string };
}

const migrations: MigrationSet = {
  table: 'notes_migration',
  migrations: {
    '0001-notes': {
      async up(db) {
        await db.schema
          .createTable('notes')
          .addColumn('id', 'bigserial', (c) => c.primaryKey())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
      },
    },
  },
};

/** A migration creating one table; it fails if it runs a second time. */
const createTable = (name: string): Migration => ({
  async up(db) {
    await db.schema.createTable(name).addColumn('id', 'integer').execute();
  },
});

/** The names of the migrations a history table records, in order. */
async function history(db: Kysely<Schema>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(table)} order by name`.execute(
    db,
  );
  return rows.map((row) => row.name);
}

/**
 * Runs `work` on `count` pooled connections at once, a different one each: every call holds its
 * connection until all have one. Afterwards the pool keeps that many open, ready to be used at once.
 * PostgreSQL only: on PGlite's one connection the first call would wait for the others for ever.
 */
async function onConnectionsAtOnce<T>(
  db: Kysely<Schema>,
  count: number,
  work: (connection: Kysely<Schema>) => Promise<T>,
): Promise<T[]> {
  let arrived = 0;
  let release: () => void = () => {};
  const allArrived = new Promise<void>((resolve) => {
    release = resolve;
  });
  return Promise.all(
    Array.from({ length: count }, () =>
      db.connection().execute(async (connection) => {
        if (++arrived === count) release();
        await allArrived;
        return work(connection);
      }),
    ),
  );
}

async function tableExists(db: Kysely<Schema>, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select to_regclass(${table}) is not null as found`.execute(
    db,
  );
  return rows[0]!.found;
}

/** Adds a text column to notes from a connection of its own, as another process migrating would. */
const addColumn = (url: string, column: string) =>
  runOnOwnConnection(url, `alter table notes add column ${column} text not null default 'x'`);

describe(`the database package (${testDatabaseKind})`, () => {
  let database: TestDatabase<Schema>;

  beforeAll(async () => {
    database = await openTestDatabase<Schema>(migrations);
  });
  afterAll(() => database.close());

  it('runs migrations once: running them again changes nothing', async () => {
    await migrateToLatest(database.db, migrations);
    expect(await history(database.db, 'notes_migration')).toEqual(['0001-notes']);
  });

  it('adopts the history an earlier version kept in kysely_migration, once, and runs only what came after', async () => {
    const earlier = { '0001-initial': createTable('papers') };
    await migrateAsEarlierVersions(database.db, earlier);

    const set: MigrationSet = {
      table: 'papers_migration',
      legacyMarker: 'papers',
      migrations: { ...earlier, '0002-more-papers': createTable('more_papers') },
    };
    // Instances of the new version starting together, on connections already open so that they race
    // (PGlite has one connection: there they take turns).
    if (testDatabaseKind === 'postgres') await onConnectionsAtOnce(database.db, 4, async () => {});
    await Promise.all(Array.from({ length: 4 }, () => migrateToLatest(database.db, set)));
    expect(await history(database.db, 'papers_migration')).toEqual(['0001-initial', '0002-more-papers']);
    expect(await tableExists(database.db, 'more_papers')).toBe(true);
    // Left as it was, for an instance of the earlier version still running.
    expect(await history(database.db, 'kysely_migration')).toEqual(['0001-initial']);
  });

  it('keeps a history of its own for a set sharing the database, though its migration names recur there', async () => {
    // kysely_migration holds another set's `0001-initial` (the test before); this set's marker is not there.
    expect(await history(database.db, 'kysely_migration')).toEqual(['0001-initial']);
    const set: MigrationSet = {
      table: 'pens_migration',
      legacyMarker: 'pens',
      migrations: { '0001-initial': createTable('pens') },
    };
    await migrateToLatest(database.db, set);
    expect(await history(database.db, 'pens_migration')).toEqual(['0001-initial']);
    expect(await tableExists(database.db, 'pens')).toBe(true);
  });

  it('answers bigint ids and counts as plain numbers', async () => {
    const inserted = await database.db
      .insertInto('notes')
      .values({ body: 'one' })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(typeof inserted.id).toBe('number');
    const count = await database.db
      .selectFrom('notes')
      .select((select) => select.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
  });

  it('delivers a NOTIFY sent inside a transaction to a listener, only after commit', async () => {
    const received: string[] = [];
    const unlisten = await database.listen('note_added', (payload) => received.push(payload));
    let insideTransaction: string[] = [];
    await database.db.transaction().execute(async (trx) => {
      await sql`select pg_notify('note_added', 'first')`.execute(trx);
      insideTransaction = [...received];
    });
    await sql`select pg_notify('note_added', 'second')`.execute(database.db);
    await expect.poll(() => received).toEqual(['first', 'second']);
    expect(insideTransaction).toEqual([]);
    await unlisten();
  });

  it.skipIf(testDatabaseKind === 'pglite')(
    'listens again after its connection to the server is cut',
    async () => {
      const received: string[] = [];
      const unlisten = await database.listen('note_cut', (payload) => received.push(payload));
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and query like 'LISTEN%'`.execute(database.db);
      // Keep notifying until the listener is back: the delivery after the cut is what matters.
      await expect
        .poll(
          async () => {
            await sql`select pg_notify('note_cut', 'after the cut')`.execute(database.db);
            return received.includes('after the cut');
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBe(true);
      await unlisten();
    },
  );

  it.skipIf(testDatabaseKind === 'pglite')(
    'survives the server ending a connection while a query runs on it',
    async () => {
      // Settled into a value at once, so its rejection is never unhandled, whenever it comes.
      const sleeping = sql`select pg_sleep(10)`.execute(database.db).then(
        () => 'finished',
        (error: unknown) => error,
      );
      const sleepers = sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query like 'select pg_sleep%'`;
      await expect.poll(async () => (await sleepers.execute(database.db)).rows[0]?.n).toBe(1);
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and query like 'select pg_sleep%'`.execute(database.db);
      expect(await sleeping).toBeInstanceOf(Error);
      await expect.poll(() => database.ping()).toBe(true);
    },
  );

  it.skipIf(testDatabaseKind === 'pglite')(
    'runs parameterised queries as named prepared statements, unless told not to',
    async () => {
      // How many statements about notes the connection that just ran one has prepared.
      const preparedOnOneConnection = (db: Kysely<Schema>) =>
        db.connection().execute(async (connection) => {
          await connection.selectFrom('notes').select('id').where('body', '=', 'x').execute();
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements
            where statement like ${'%from "notes"%'}`.execute(connection);
          return rows[0]?.n;
        });
      expect(await preparedOnOneConnection(database.db)).toBe(1);
      const unprepared = await openDatabase<Schema>({ url: database.url, preparedStatements: false });
      try {
        expect(await preparedOnOneConnection(unprepared.db)).toBe(0);
      } finally {
        await unprepared.close();
      }
    },
  );

  it.skipIf(testDatabaseKind === 'pglite')(
    'keeps answering a select * on every pooled connection after another connection adds a column',
    async () => {
      const connections = 6;
      /** Reads every column of notes on `connections` pooled connections at once; answers their server pids. */
      const readOnEveryConnection = () =>
        onConnectionsAtOnce(database.db, connections, async (connection) => {
          const rows = await connection.selectFrom('notes').selectAll().where('id', '>', 0).execute();
          const { rows: pid } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
            connection,
          );
          return { columns: Object.keys(rows[0] ?? {}), pid: pid[0]!.pid };
        });
      await database.db.insertInto('notes').values({ body: 'before the migration' }).execute();
      const before = await readOnEveryConnection();
      expect(new Set(before.map((read) => read.pid)).size).toBe(connections);

      await addColumn(database.url!, 'colour');

      const after = await readOnEveryConnection();
      expect(new Set(after.map((read) => read.pid))).toEqual(new Set(before.map((read) => read.pid)));
      for (const read of after) expect(read.columns).toContain('colour');
    },
  );

  it.skipIf(testDatabaseKind === 'pglite')(
    'answers a select * inside a transaction after another connection adds a column',
    async () => {
      // One connection, so that the statement prepared first is the one the transaction meets.
      const single = await openDatabase<Schema>({ url: database.url, poolSize: 1 });
      try {
        const readAll = (db: Kysely<Schema>) =>
          db.selectFrom('notes').selectAll().where('id', '>', 0).executeTakeFirstOrThrow();
        await readAll(single.db);
        await addColumn(database.url!, 'shape');
        const read = await single.db.transaction().execute(readAll);
        expect(Object.keys(read)).toContain('shape');
      } finally {
        await single.close();
      }
    },
  );

  it('answers a ping while it is open', async () => {
    expect(await database.ping()).toBe(true);
  });
});
