import type { AccountRole, Membership } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import type { ApiDatabase } from '../database/schema.ts';

/** Owners and admins manage an account's events and their ticketing; members may only view. */
export function canManage(role: AccountRole | null | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

export async function findRole(
  db: Kysely<ApiDatabase>,
  userId: number,
  accountId: number,
): Promise<AccountRole | null> {
  const row = await db
    .selectFrom('account_members')
    .select('role')
    .where('user_id', '=', userId)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row?.role ?? null;
}

export async function listMemberships(db: Kysely<ApiDatabase>, userId: number): Promise<Membership[]> {
  return db
    .selectFrom('account_members')
    .innerJoin('accounts', 'accounts.id', 'account_members.account_id')
    .select(['accounts.id', 'accounts.name', 'account_members.role'])
    .where('account_members.user_id', '=', userId)
    .orderBy('accounts.id')
    .execute();
}

/** Creates an account owned by one user; call it inside a transaction. */
export async function createAccount(
  db: Kysely<ApiDatabase>,
  input: { name: string; ownerId: number },
): Promise<{ id: number; name: string }> {
  const account = await db
    .insertInto('accounts')
    .values({ name: input.name })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
  await addMember(db, { accountId: account.id, userId: input.ownerId, role: 'owner' });
  return account;
}

export async function addMember(
  db: Kysely<ApiDatabase>,
  input: { accountId: number; userId: number; role: AccountRole },
): Promise<void> {
  await db
    .insertInto('account_members')
    .values({ account_id: input.accountId, user_id: input.userId, role: input.role })
    .execute();
}
