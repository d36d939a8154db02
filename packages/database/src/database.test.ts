import { type Generated, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from './index.ts';
import { openTestDatabase, runOnOwnConnection, type TestDatabase, testDatabaseKind } from './testing.ts';

interface Schema {
  notes: { id: Generated<number>; body: string };
}

const migrations = {
  '0001-notes': {
    async up(db: Parameters<typeof migrateToLatest>[0]) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

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
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(database.db);
    expect(rows.map((row) => row.name)).toEqual(['0001-notes']);
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
      const readOnEveryConnection = async () => {
        let arrived = 0;
        let release: () => void = () => {};
        const allArrived = new Promise<void>((resolve) => {
          release = resolve;
        });
        return Promise.all(
          Array.from({ length: connections }, () =>
            database.db.connection().execute(async (connection) => {
              // Held until all have a connection of their own, so that each query runs on a different one.
              if (++arrived === connections) release();
              await allArrived;
              const rows = await connection.selectFrom('notes').selectAll().where('id', '>', 0).execute();
              const { rows: pid } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
                connection,
              );
              return { columns: Object.keys(rows[0] ?? {}), pid: pid[0]!.pid };
            }),
          ),
        );
      };
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
