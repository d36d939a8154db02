import type { User } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import type { ApiDatabase, UserRow } from '../database/schema.ts';
import { hashPassword } from './passwords.ts';

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
