import { migrateToLatest } from '@tuvens/database';
import { openTestDatabase, type TestDatabase, testDatabaseKind } from '@tuvens/database/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiMigrations } from '../src/database/migrations/index.ts';
import type { ApiDatabase } from '../src/database/schema.ts';

const BEFORE_PUBLIC_NUMBERS = Object.fromEntries(
  Object.entries(apiMigrations.migrations).filter(([name]) => name < '0006'),
);

describe(`migration 0006: the public numbering of the change log (${testDatabaseKind})`, () => {
  let database: TestDatabase<ApiDatabase>;

  beforeAll(async () => {
    database = await openTestDatabase<ApiDatabase>();
    await migrateToLatest(database.db, { ...apiMigrations, migrations: BEFORE_PUBLIC_NUMBERS });
  });
  afterAll(() => database.close());

  it('numbers the existing changes of public events in log order, and new ones after them', async () => {
    await sql`insert into accounts (id, name) values (1, 'Account')`.execute(database.db);
    await sql`
      insert into events (id, account_id, title, starts_at, ends_at, visibility) values
        (1, 1, 'Open', '2030-01-01T10:00Z', '2030-01-01T12:00Z', 'public'),
        (2, 1, 'Closed', '2030-01-01T10:00Z', '2030-01-01T12:00Z', 'private')
    `.execute(database.db);
    await sql`
      insert into ticketing_status_changes (event_id, from_status, to_status, source, occurred_at, recorded_at)
      select event_id, 'none', 'setup', 'organizer', now(), now()
      from unnest(array[1, 2, 2, 1, 2, 1]) with ordinality as changes(event_id, n) order by n
    `.execute(database.db);

    await migrateToLatest(database.db, apiMigrations);
    await sql`
      insert into ticketing_status_changes (event_id, from_status, to_status, source, occurred_at, recorded_at)
      values (2, 'setup', 'active', 'organizer', now(), now()), (1, 'setup', 'active', 'organizer', now(), now())
    `.execute(database.db);

    const rows = await database.db
      .selectFrom('ticketing_status_changes')
      .select(['event_id', 'public_seq'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { event_id: 1, public_seq: 1 },
      { event_id: 2, public_seq: null },
      { event_id: 2, public_seq: null },
      { event_id: 1, public_seq: 2 },
      { event_id: 2, public_seq: null },
      { event_id: 1, public_seq: 3 },
      { event_id: 2, public_seq: null },
      { event_id: 1, public_seq: 4 },
    ]);
  });
});
