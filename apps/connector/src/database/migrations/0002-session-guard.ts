import { type Kysely, sql } from 'kysely';

/**
 * What ending a sign-in everywhere needs: the connector session keeps the Tuvens cross-app session
 * token (sealed) to ask tuvens-api again whether the person may still manage the account, and when
 * it last asked; each Hi.Events token issued for the session is kept (sealed) until it expires, so
 * that it can be signed out of Hi.Events (`POST /auth/logout` blacklists it by `jti`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('connector_sessions')
    .addColumn('tuvens_session_token', 'text')
    .addColumn('checked_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('hi_events_tokens')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('connector_session_id', 'bigint', (c) =>
      c.notNull().references('connector_sessions.id').onDelete('cascade'),
    )
    .addColumn('jti', 'text', (c) => c.notNull().unique())
    .addColumn('sealed_token', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('hi_events_tokens_session_idx')
    .on('hi_events_tokens')
    .column('connector_session_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('hi_events_tokens').execute();
  await db.schema
    .alterTable('connector_sessions')
    .dropColumn('tuvens_session_token')
    .dropColumn('checked_at')
    .execute();
}
