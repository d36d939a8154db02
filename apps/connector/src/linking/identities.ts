import type { ValidateSessionResponse } from '@tuvens/contracts';
import type { Clock } from '@tuvens/server';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { AccountMappingRow, ConnectorDatabase } from '../database/schema.ts';
import { AppError } from '../errors.ts';
import { type HiEventsAdapter, HiEventsError, type HiEventsIdentity } from '../hi-events/adapter.ts';
import { type ClaimSettings, createOnce } from './claims.ts';

export interface LinkingDeps {
  db: Kysely<ConnectorDatabase>;
  clock: Clock;
  config: ConnectorConfig;
  hiEvents: HiEventsAdapter;
  claims: ClaimSettings;
}

/** A Tuvens owner or admin manages ticketing; in Hi.Events they are an admin of the account. */
const HI_EVENTS_ROLE = 'ADMIN' as const;

export interface LinkedIdentity {
  /** Who the person is in Hi.Events. */
  identity: HiEventsIdentity;
  /** Their Tuvens account's Hi.Events account, with its organizer. */
  account: AccountMappingRow & { hi_events_organizer_id: number };
}

/**
 * Maps the Tuvens user and account of a validated session to Hi.Events, creating what is missing:
 * the account (registered with the first person who enables ticketing in it, who becomes its
 * owner), its organizer (named after the Tuvens account), and the person as a user of the account.
 * Each step is recorded as soon as Hi.Events confirms it, so a failure part-way resumes next time.
 */
export async function linkIdentity(
  deps: LinkingDeps,
  session: ValidateSessionResponse,
): Promise<LinkedIdentity> {
  const account = await ensureOrganizer(deps, await ensureAccount(deps, session), session);
  const userId = await ensureMembership(deps, session, account);
  return {
    identity: { userId, accountId: account.hi_events_account_id, role: HI_EVENTS_ROLE },
    account,
  };
}

/** The identity the connector uses to act on an account when nobody is signed in (the reconciler). */
export function ownerIdentity(account: AccountMappingRow): HiEventsIdentity {
  return {
    userId: account.hi_events_owner_user_id,
    accountId: account.hi_events_account_id,
    role: HI_EVENTS_ROLE,
  };
}

export async function findAccountMapping(db: Kysely<ConnectorDatabase>, tuvensAccountId: number) {
  return db
    .selectFrom('external_account_mappings')
    .selectAll()
    .where('tuvens_account_id', '=', tuvensAccountId)
    .executeTakeFirst();
}

async function findUserMapping(db: Kysely<ConnectorDatabase>, tuvensUserId: number) {
  return db
    .selectFrom('external_user_mappings')
    .selectAll()
    .where('tuvens_user_id', '=', tuvensUserId)
    .executeTakeFirst();
}

async function ensureAccount(
  deps: LinkingDeps,
  session: ValidateSessionResponse,
): Promise<AccountMappingRow> {
  const { db, clock, hiEvents, config } = deps;
  const { user_data: user, account_data: tuvensAccount } = session;
  return createOnce(deps.claims, {
    resource: `account:${tuvensAccount.id}`,
    find: () => findAccountMapping(db, tuvensAccount.id),
    create: async () => {
      if (await findUserMapping(db, user.id)) throw emailInUse();
      const { firstName, lastName } = splitName(user.name);
      let registered: { accountId: number; userId: number };
      try {
        registered = await hiEvents.registerAccount({
          firstName,
          lastName,
          email: user.email,
          timezone: config.hiEvents.defaultTimezone,
          currency: config.hiEvents.defaultCurrency,
        });
      } catch (error) {
        if (error instanceof HiEventsError && error.fieldErrors.email) throw emailInUse();
        throw error;
      }
      const now = clock();
      return db.transaction().execute(async (trx) => {
        await trx
          .insertInto('external_user_mappings')
          .values({
            tuvens_user_id: user.id,
            hi_events_user_id: registered.userId,
            email: user.email,
            created_at: now,
            updated_at: now,
          })
          .execute();
        const account = await trx
          .insertInto('external_account_mappings')
          .values({
            tuvens_account_id: tuvensAccount.id,
            hi_events_account_id: registered.accountId,
            hi_events_owner_user_id: registered.userId,
            hi_events_organizer_id: null,
            name: tuvensAccount.name,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('account_memberships')
          .values({ tuvens_account_id: tuvensAccount.id, tuvens_user_id: user.id, created_at: now })
          .execute();
        return account;
      });
    },
  });
}

async function ensureOrganizer(
  deps: LinkingDeps,
  account: AccountMappingRow,
  session: ValidateSessionResponse,
): Promise<LinkedIdentity['account']> {
  const { db, clock, hiEvents } = deps;
  const withOrganizer = (row: AccountMappingRow | undefined) =>
    row?.hi_events_organizer_id ? { ...row, hi_events_organizer_id: row.hi_events_organizer_id } : undefined;
  return (
    withOrganizer(account) ??
    createOnce(deps.claims, {
      resource: `organizer:${account.tuvens_account_id}`,
      find: async () => withOrganizer(await findAccountMapping(db, account.tuvens_account_id)),
      create: async () => {
        const { organizerId } = await hiEvents.createOrganizer(ownerIdentity(account), {
          name: session.account_data.name,
          email: session.user_data.email,
        });
        const updated = await db
          .updateTable('external_account_mappings')
          .set({ hi_events_organizer_id: organizerId, updated_at: clock() })
          .where('tuvens_account_id', '=', account.tuvens_account_id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return withOrganizer(updated)!;
      },
    })
  );
}

/** The person's Hi.Events user id, after adding them to the account if they are not in it yet. */
async function ensureMembership(
  deps: LinkingDeps,
  session: ValidateSessionResponse,
  account: AccountMappingRow,
): Promise<number> {
  const { db, clock, hiEvents } = deps;
  const { user_data: user } = session;
  const findMember = async () => {
    const row = await db
      .selectFrom('account_memberships')
      .innerJoin(
        'external_user_mappings',
        'external_user_mappings.tuvens_user_id',
        'account_memberships.tuvens_user_id',
      )
      .select('external_user_mappings.hi_events_user_id')
      .where('account_memberships.tuvens_account_id', '=', account.tuvens_account_id)
      .where('account_memberships.tuvens_user_id', '=', user.id)
      .executeTakeFirst();
    return row?.hi_events_user_id;
  };
  return createOnce(deps.claims, {
    resource: `member:${account.tuvens_account_id}:${user.id}`,
    find: findMember,
    create: async () => {
      const known = await findUserMapping(db, user.id);
      const { firstName, lastName } = splitName(user.name);
      let userId: number;
      try {
        // Hi.Events adds an existing user (known by email) to the account, or invites a new one.
        ({ userId } = await hiEvents.addUser(ownerIdentity(account), {
          firstName,
          lastName,
          email: user.email,
          role: HI_EVENTS_ROLE,
        }));
      } catch (error) {
        // Already a member (the record of it was lost): nothing to add.
        if (!(known && error instanceof HiEventsError && error.fieldErrors.email)) throw error;
        userId = known.hi_events_user_id;
      }
      const now = clock();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('external_user_mappings')
          .values({
            tuvens_user_id: user.id,
            hi_events_user_id: userId,
            email: user.email,
            created_at: now,
            updated_at: now,
          })
          .onConflict((oc) => oc.column('tuvens_user_id').doNothing())
          .execute();
        await trx
          .insertInto('account_memberships')
          .values({ tuvens_account_id: account.tuvens_account_id, tuvens_user_id: user.id, created_at: now })
          .onConflict((oc) => oc.columns(['tuvens_account_id', 'tuvens_user_id']).doNothing())
          .execute();
      });
      return (await findMember()) ?? userId;
    },
  });
}

/** Hi.Events has one user per email, and registering always makes a new one. */
function emailInUse(): AppError {
  return new AppError('hi_events_email_in_use', 'A Hi.Events user with this email already exists');
}

/** Hi.Events keeps first and last names apart; Tuvens keeps one name. */
export function splitName(name: string): { firstName: string; lastName: string | null } {
  const [first, ...rest] = name.trim().split(/\s+/);
  return { firstName: first || 'Tuvens organizer', lastName: rest.join(' ') || null };
}
