import { type Generated, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from './index.ts';
import { openTestDatabase, type TestDatabase, testDatabaseKind } from './testing.ts';

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

  it('answers a ping while it is open', async () => {
    expect(await database.ping()).toBe(true);
  });
});
