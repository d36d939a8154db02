import type { User } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import type { ApiDatabase, UserRow } from '../database/schema.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export function toUser(row: Pick<UserRow, 'id' | 'email' | 'name'>): User {
  return { id: row.id, email: row.email, name: row.name };
}

export async function findUserByEmail(db: Kysely<ApiDatabase>, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
}

export async function findUser(db: Kysely<ApiDatabase>, id: number): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'email', 'name'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toUser(row);
}

export async function createUser(
  db: Kysely<ApiDatabase>,
  input: { email: string; name: string; password: string },
): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({
      email: input.email.toLowerCase(),
      name: input.name,
      password_hash: await hashPassword(input.password),
    })
    .returning(['id', 'email', 'name'])
    .executeTakeFirstOrThrow();
  return toUser(row);
}

/** Ends every sign-in of a user: tokens issued under the version before this raise are refused. */
export async function endSignIns(db: Kysely<ApiDatabase>, userId: number): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ token_version: eb('token_version', '+', 1) }))
    .where('id', '=', userId)
    .execute();
}

/**
 * Sets a new password when the current one is given right, and ends every sign-in made with the old
 * one, in one statement; answers the user's new token version, or undefined for a wrong password.
 */
export async function changePassword(
  db: Kysely<ApiDatabase>,
  userId: number,
  passwords: { current_password: string; new_password: string },
): Promise<{ id: number; token_version: number } | undefined> {
  const row = await db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row || !(await verifyPassword(passwords.current_password, row.password_hash))) return undefined;
  const newHash = await hashPassword(passwords.new_password);
  // Unchanged since it was checked: of two changes at once, only one wins.
  return db
    .updateTable('users')
    .set((eb) => ({ password_hash: newHash, token_version: eb('token_version', '+', 1) }))
    .where('id', '=', userId)
    .where('password_hash', '=', row.password_hash)
    .returning(['id', 'token_version'])
    .executeTakeFirst();
}
