import type { Kysely } from 'kysely';

/**
 * Each user's sign-in generation: every login token carries the value it was issued under, and
 * signing out or changing the password raises it, so that every token issued before stops working
 * at once rather than when it expires.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('token_version').execute();
}
