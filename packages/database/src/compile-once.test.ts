import { type Generated, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileOnce } from './compile-once.ts';
import type { MigrationSet } from './index.ts';
import { openTestDatabase, type TestDatabase, testDatabaseKind } from './testing.ts';

interface Schema {
  items: { id: Generated<number>; name: string; colour: string | null; added_at: Date };
}

const migrations: MigrationSet = {
  table: 'items_migration',
  migrations: {
    '0001-items': {
      async up(db) {
        await db.schema
          .createTable('items')
          .addColumn('id', 'bigserial', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('colour', 'text')
          .addColumn('added_at', 'timestamptz', (c) => c.notNull())
          .execute();
      },
    },
  },
};

type Item = Schema['items'];
type NewItem = { name: string; colour: string | null; added_at: Date };

describe(`compileOnce (${testDatabaseKind})`, () => {
  let database: TestDatabase<Schema>;
  let builds = 0;

  /** Inserts an item and answers it; the colour, when there is none, is written by the statement. */
  const insertItem = compileOnce((db: Kysely<Schema>, values: { item: NewItem; fallback: string }) => {
    builds++;
    const { item, fallback } = values;
    return db
      .insertInto('items')
      .values({ ...item, colour: item.colour === null ? sql<string>`upper(${fallback})` : item.colour })
      .returning(['id', 'name', 'colour', 'added_at']);
  });

  beforeAll(async () => {
    database = await openTestDatabase<Schema>(migrations);
  });
  afterAll(() => database.close());

  it("runs each call with that call's values, having built the statement once", async () => {
    builds = 0;
    const at = new Date('2026-12-03T10:00:00Z');
    const first = await insertItem(database.db, {
      item: { name: 'a', colour: 'red', added_at: at },
      fallback: 'x',
    });
    const builtFirst = builds;
    const second = await insertItem(database.db, {
      item: { name: 'b', colour: 'blue', added_at: new Date(at.getTime() + 1000) },
      fallback: 'y',
    });
    expect(first[0]).toMatchObject({ name: 'a', colour: 'red', added_at: at });
    expect(second[0]).toMatchObject({ name: 'b', colour: 'blue', added_at: new Date(at.getTime() + 1000) });
    // Under test every run also builds directly, to compare: one build more for the first call only.
    expect(builds - builtFirst).toBe(1);
  });

  it('compiles a form of its own for a value that is null, where the statement takes another shape', async () => {
    const at = new Date();
    const [withColour] = await insertItem(database.db, {
      item: { name: 'c', colour: 'green', added_at: at },
      fallback: 'x',
    });
    const [withoutColour] = await insertItem(database.db, {
      item: { name: 'd', colour: null, added_at: at },
      fallback: 'grey',
    });
    const [againWithout] = await insertItem(database.db, {
      item: { name: 'e', colour: null, added_at: at },
      fallback: 'pink',
    });
    expect([withColour!.colour, withoutColour!.colour, againWithout!.colour]).toEqual([
      'green',
      'GREY',
      'PINK',
    ]);
  });

  it('refuses, under test, a statement shaped by what a value is rather than whether it is null', async () => {
    const byName = compileOnce((db: Kysely<Schema>, values: { name: string }) =>
      db
        .selectFrom('items')
        .select('id')
        .where('name', values.name === 'a' ? '=' : '<>', values.name),
    );
    await expect(byName(database.db, { name: 'a' })).rejects.toThrow(/built directly/);
  });

  it('refuses, under test, a statement that reads a value while it is built', async () => {
    const shouting = compileOnce((db: Kysely<Schema>, values: { name: string }) =>
      db.selectFrom('items').select('id').where('name', '=', `${values.name}!`),
    );
    await expect(shouting(database.db, { name: 'a' })).rejects.toThrow(/"name" was used as a value/);
  });

  it('reads and writes dates, nulls and constants of the form in their places', async () => {
    const since = compileOnce((db: Kysely<Schema>, values: { after: Date; limit: number }) =>
      db
        .selectFrom('items')
        .select(['name', 'colour'])
        .where('added_at', '>', values.after)
        .where('name', 'in', ['a', 'b'])
        .orderBy('id')
        .limit(values.limit),
    );
    const rows: Pick<Item, 'name' | 'colour'>[] = await since(database.db, { after: new Date(0), limit: 1 });
    expect(rows).toEqual([{ name: 'a', colour: 'red' }]);
    expect(await since(database.db, { after: new Date(0), limit: 5 })).toEqual([
      { name: 'a', colour: 'red' },
      { name: 'b', colour: 'blue' },
    ]);
  });
});
