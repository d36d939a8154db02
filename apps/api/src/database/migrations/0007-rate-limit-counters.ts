import { type Kysely, sql } from 'kysely';

/**
 * Sign-in limit counters shared by every instance (docs/architecture.md#rate-limits): the hits of one
 * kind of limit on one key (a client address, an account's email) in the window that began at
 * `window_start`. One upsert counts a hit and answers the count; the cleanup job deletes ended windows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull().check(sql`hits > 0`))
    .addPrimaryKeyConstraint('rate_limit_counters_pkey', ['kind', 'key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limit_counters').execute();
}
