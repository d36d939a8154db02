import { type Kysely, sql } from 'kysely';

/**
 * Per linked event, the ticket summary wanted and last reported (`ticket_summary_state`), and the path a
 * message of the outbox goes to (null: the status webhook's).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ticket_summary_state')
    .addColumn('tuvens_event_id', 'integer', (c) => c.primaryKey())
    .addColumn('hi_events_event_id', 'integer', (c) => c.notNull())
    .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('next_derive_at', 'timestamptz', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reported_summary', 'jsonb')
    .addColumn('reported_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('ticket_summary_state_due_idx')
    .on('ticket_summary_state')
    .column('next_derive_at')
    .where(sql.ref('requests'), '>', 0)
    .execute();
  await db.schema.alterTable('status_outbox').addColumn('webhook_path', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('status_outbox').dropColumn('webhook_path').execute();
  await db.schema.dropTable('ticket_summary_state').execute();
}
