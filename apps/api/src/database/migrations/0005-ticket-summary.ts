import type { Kysely } from 'kysely';

/**
 * Each event's ticket summary and when it was observed (to refuse older ones arriving late); the change
 * log carries a summary on the rows that announce one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('events')
    .addColumn('ticket_summary', 'jsonb')
    .addColumn('ticket_summary_updated_at', 'timestamptz')
    .execute();
  await db.schema.alterTable('ticketing_status_changes').addColumn('ticket_summary', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ticketing_status_changes').dropColumn('ticket_summary').execute();
  await db.schema
    .alterTable('events')
    .dropColumn('ticket_summary_updated_at')
    .dropColumn('ticket_summary')
    .execute();
}
