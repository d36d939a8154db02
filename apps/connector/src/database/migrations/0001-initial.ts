import { type Kysely, sql } from 'kysely';

/** Identity mappings, event links, provisioning claims, webhook receipts, the status outbox and sessions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('external_user_mappings')
    .addColumn('tuvens_user_id', 'integer', (c) => c.primaryKey())
    .addColumn('hi_events_user_id', 'integer', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('external_account_mappings')
    .addColumn('tuvens_account_id', 'integer', (c) => c.primaryKey())
    .addColumn('hi_events_account_id', 'integer', (c) => c.notNull().unique())
    .addColumn('hi_events_owner_user_id', 'integer', (c) => c.notNull())
    .addColumn('hi_events_organizer_id', 'integer')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('account_memberships')
    .addColumn('tuvens_account_id', 'integer', (c) =>
      c.notNull().references('external_account_mappings.tuvens_account_id').onDelete('cascade'),
    )
    .addColumn('tuvens_user_id', 'integer', (c) =>
      c.notNull().references('external_user_mappings.tuvens_user_id').onDelete('cascade'),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_memberships_pkey', ['tuvens_account_id', 'tuvens_user_id'])
    .execute();

  await db.schema
    .createTable('event_links')
    .addColumn('tuvens_event_id', 'integer', (c) => c.primaryKey())
    .addColumn('tuvens_account_id', 'integer', (c) =>
      c.notNull().references('external_account_mappings.tuvens_account_id'),
    )
    .addColumn('hi_events_event_id', 'integer', (c) => c.notNull().unique())
    .addColumn('hi_events_account_id', 'integer', (c) => c.notNull())
    .addColumn('hi_events_event_url', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'integer')
    .addColumn('webhook_secret', 'text')
    .addColumn('hi_events_status', 'text', (c) =>
      c.check(sql`hi_events_status in ('DRAFT', 'LIVE', 'ARCHIVED')`),
    )
    .addColumn('hi_events_lifecycle_status', 'text', (c) =>
      c.check(sql`hi_events_lifecycle_status in ('UPCOMING', 'ONGOING', 'ENDED')`),
    )
    .addColumn('hi_events_deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('observed_at', 'timestamptz')
    .addColumn('hi_events_sent_at', 'timestamptz')
    .addColumn('reported_status', 'text', (c) =>
      c.notNull().check(sql`reported_status in ('none', 'setup', 'active', 'inactive')`),
    )
    .addColumn('reconciled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('event_links_reconcile_idx')
    .on('event_links')
    .columns(['reconciled_at', 'tuvens_event_id'])
    .execute();

  await db.schema
    .createTable('provisioning_claims')
    .addColumn('resource', 'text', (c) => c.primaryKey())
    .addColumn('claim_token', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('hi_events_webhook_receipts')
    .addColumn('body_sha256', 'char(64)', (c) => c.primaryKey())
    .addColumn('hi_events_event_id', 'integer', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('hi_events_webhook_receipts_received_idx')
    .on('hi_events_webhook_receipts')
    .column('received_at')
    .execute();

  await db.schema
    .createTable('status_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('tuvens_event_id', 'integer', (c) => c.notNull())
    .addColumn('ticketing_status', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'delivered', 'dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .execute();
  // The worker's two questions: which pending messages are due, and is an older one of the same event still pending.
  await db.schema
    .createIndex('status_outbox_due_idx')
    .on('status_outbox')
    .columns(['next_attempt_at', 'id'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema
    .createIndex('status_outbox_event_idx')
    .on('status_outbox')
    .columns(['tuvens_event_id', 'id'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema
    .createIndex('status_outbox_status_idx')
    .on('status_outbox')
    .columns(['status', 'id'])
    .execute();

  await db.schema
    .createTable('connector_sessions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('tuvens_user_id', 'integer', (c) => c.notNull())
    .addColumn('tuvens_account_id', 'integer', (c) => c.notNull())
    .addColumn('tuvens_event_id', 'integer', (c) => c.notNull())
    .addColumn('hi_events_user_id', 'integer', (c) => c.notNull())
    .addColumn('hi_events_account_id', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('connector_sessions_expires_idx')
    .on('connector_sessions')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'connector_sessions',
    'status_outbox',
    'hi_events_webhook_receipts',
    'provisioning_claims',
    'event_links',
    'account_memberships',
    'external_account_mappings',
    'external_user_mappings',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
