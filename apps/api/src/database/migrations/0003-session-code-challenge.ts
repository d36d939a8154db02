import type { Kysely } from 'kysely';

/**
 * The PKCE code challenge a cross-app session is bound to (docs/architecture.md#sign-in-flow): the
 * SHA-256 of a verifier that only the browser which started the sign-in holds, in its connector
 * cookie. Sessions made without one (by API clients) keep it empty.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('crossAppSession').addColumn('code_challenge', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('crossAppSession').dropColumn('code_challenge').execute();
}
