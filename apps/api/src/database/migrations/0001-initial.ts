import { type Kysely, sql } from 'kysely';

/** Users, organizer accounts, events with their ticketing fields, cross-app sessions and the audit log. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('account_members')
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'admin', 'member')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('account_members_pkey', ['account_id', 'user_id'])
    .execute();
  await db.schema.createIndex('account_members_user_idx').on('account_members').column('user_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) =>
      c.notNull().defaultTo('public').check(sql`visibility in ('public', 'private')`),
    )
    .addColumn('ticketing_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('ticketing_status', 'text', (c) =>
      c.notNull().defaultTo('none').check(sql`ticketing_status in ('none', 'setup', 'active', 'inactive')`),
    )
    .addColumn('hi_events_event_id', 'integer')
    .addColumn('hi_events_event_url', 'text')
    .addColumn('hasTicketing', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('hiEventsEventId', 'integer')
    .addColumn('contactData', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ticketing_updated_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('events_time_order', sql`ends_at > starts_at`)
    .execute();
  await db.schema.createIndex('events_account_idx').on('events').column('account_id').execute();

  await db.schema
    .createTable('crossAppSession')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('sessionTokenHash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('userId', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('accountId', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('appId', 'varchar(50)', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('expiresAt', 'timestamptz', (c) => c.notNull())
    .addColumn('createdAt', 'timestamptz', (c) => c.notNull())
    .addColumn('lastUsed', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('sysCreated', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sysModified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('cross_app_session_expires_idx')
    .on('crossAppSession')
    .column('expiresAt')
    .execute();
  await db.schema.createIndex('cross_app_session_user_idx').on('crossAppSession').column('userId').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'integer')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('success', 'failure')`))
    .addColumn('reason', 'text')
    .addColumn('event_id', 'integer')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_event_idx').on('audit_log').columns(['event_id', 'id']).execute();
  await db.schema
    .createIndex('audit_log_user_idx')
    .on('audit_log')
    .columns(['actor_user_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_log', 'crossAppSession', 'events', 'account_members', 'accounts', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
