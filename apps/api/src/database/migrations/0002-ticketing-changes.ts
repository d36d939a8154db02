import { type Kysely, sql } from 'kysely';

/** The ticketing change log (the SSE event ids) and the receipts that make the status webhook idempotent. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ticketing_status_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'integer', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('from_status', 'text', (c) => c.notNull())
    .addColumn('to_status', 'text', (c) =>
      c.notNull().check(sql`to_status in ('none', 'setup', 'active', 'inactive')`),
    )
    .addColumn('hi_events_event_id', 'integer')
    .addColumn('hi_events_event_url', 'text')
    .addColumn('hi_events_status', 'text')
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('hi-events', 'organizer')`))
    .addColumn('webhook_id', 'text')
    .addColumn('actor_user_id', 'integer')
    .addColumn('reason', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ticketing_status_changes_event_idx')
    .on('ticketing_status_changes')
    .columns(['event_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_receipts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('applied', 'stale', 'unchanged')`))
    .execute();
  await db.schema
    .createIndex('webhook_receipts_received_idx')
    .on('webhook_receipts')
    .column('received_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_receipts').execute();
  await db.schema.dropTable('ticketing_status_changes').execute();
}
