import type { ValidateSessionResponse } from '@tuvens/contracts';
import type { Clock } from '@tuvens/server';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { AccountMappingRow, ConnectorDatabase } from '../database/schema.ts';
import { AppError } from '../errors.ts';
import {
  type AddedUser,
  type HiEventsAdapter,
  HiEventsError,
  type HiEventsIdentity,
} from '../hi-events/adapter.ts';
import { type ClaimSettings, createOnce } from './claims.ts';

export interface LinkingDeps {
  db: Kysely<ConnectorDatabase>;
  clock: Clock;
  config: ConnectorConfig;
  hiEvents: HiEventsAdapter;
  claims: ClaimSettings;
  log?: FastifyBaseLogger;
}

/** A Tuvens owner or admin manages ticketing; in Hi.Events they are an admin of the account. */
const HI_EVENTS_ROLE = 'ADMIN' as const;

/**
 * The last name given to a Hi.Events user whose Tuvens name is one word: `PUT /users/{id}`, which
 * makes a member active, needs a non-empty last name (`UpdateUserDTO` types it as a string).
 */
export const PLACEHOLDER_LAST_NAME = '(Tuvens)';

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
        if (error instanceof HiEventsError && error.status === 401) {
          // `CreateAccountHandler` gave the new account to an existing user who owned none, then the
          // sign-in with the password just sent failed: an account Tuvens can never use.
          deps.log?.warn(
            { tuvensUserId: user.id },
            'Hi.Events registered an account for an existing user with this email and refused the sign-in; that account is left unused',
          );
          throw emailInUse();
        }
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

/**
 * The person's Hi.Events user id, after adding them to the account if they are not in it yet.
 *
 * `POST /users` adds a member as `INVITED`, and Hi.Events refuses every request of a member who is
 * not `ACTIVE` (`IsAuthorizedService::validateUserStatus`), so the owner then sets them `ACTIVE`
 * (`PUT /users/{id}`). Hi.Events knows users by email: when the email already belongs to a user the
 * connector did not create for this same Tuvens user, `POST /users` has added *that* person, and
 * signing in as them would let one person act as another. That is refused, and the membership just
 * made for them is set `INACTIVE`, so that their invitation into the account cannot be accepted.
 */
async function ensureMembership(
  deps: LinkingDeps,
  session: ValidateSessionResponse,
  account: AccountMappingRow,
): Promise<number> {
  const { db, clock, hiEvents } = deps;
  const { user_data: user } = session;
  const owner = ownerIdentity(account);
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
      const sentLastName = lastName ?? PLACEHOLDER_LAST_NAME;
      let added: AddedUser | undefined;
      try {
        added = await hiEvents.addUser(owner, {
          firstName,
          lastName: sentLastName,
          email: user.email,
          role: HI_EVENTS_ROLE,
        });
      } catch (error) {
        // Already a member (the record of it was lost): nothing to add.
        if (!(known && error instanceof HiEventsError && error.fieldErrors.email)) throw error;
      }
      const userId = added?.userId ?? known!.hi_events_user_id;
      if (
        added &&
        !(await isOwnUser(deps, added, { tuvensUserId: user.id, known, firstName, sentLastName }))
      ) {
        await closeInvitation(deps, owner, added);
        deps.log?.warn(
          { tuvensUserId: user.id, hiEventsUserId: added.userId },
          'refused to sign in as an existing Hi.Events user that the connector did not create for this person',
        );
        throw emailInUse();
      }
      await hiEvents.updateMember(owner, userId, {
        firstName: added?.firstName ?? firstName,
        lastName: added?.lastName || sentLastName,
        role: HI_EVENTS_ROLE,
        status: 'ACTIVE',
      });
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

/**
 * Whether the user `POST /users` answered is one the connector made for this Tuvens user: the one
 * it recorded for them before, or else a user no one else is recorded with that Hi.Events has just
 * created from what was sent (the names sent, no confirmed email; an existing user keeps their own
 * names, and one who registered or accepted an invitation has a confirmed email).
 */
async function isOwnUser(
  deps: LinkingDeps,
  added: AddedUser,
  expected: {
    tuvensUserId: number;
    known: { hi_events_user_id: number } | undefined;
    firstName: string;
    sentLastName: string;
  },
): Promise<boolean> {
  if (expected.known) return expected.known.hi_events_user_id === added.userId;
  const recorded = await deps.db
    .selectFrom('external_user_mappings')
    .select('tuvens_user_id')
    .where('hi_events_user_id', '=', added.userId)
    .executeTakeFirst();
  if (recorded) return recorded.tuvens_user_id === expected.tuvensUserId;
  return (
    !added.emailVerified && added.firstName === expected.firstName && added.lastName === expected.sentLastName
  );
}

/**
 * Sets the membership `POST /users` just gave an existing user to `INACTIVE`, so that the invitation
 * Hi.Events emailed them cannot be accepted (`AcceptInvitationHandler` accepts only `INVITED`). Their
 * own names are sent back unchanged; Hi.Events cannot store a missing last name through this call,
 * so a user without one keeps the invitation, which is logged.
 */
async function closeInvitation(deps: LinkingDeps, owner: HiEventsIdentity, added: AddedUser): Promise<void> {
  if (!added.lastName) {
    deps.log?.warn(
      { hiEventsUserId: added.userId },
      'the invitation Hi.Events sent to an existing user stays open: their last name is empty',
    );
    return;
  }
  try {
    await deps.hiEvents.updateMember(owner, added.userId, {
      firstName: added.firstName,
      lastName: added.lastName,
      role: 'ORGANIZER',
      status: 'INACTIVE',
    });
  } catch (error) {
    deps.log?.error({ err: error, hiEventsUserId: added.userId }, 'could not close an unwanted invitation');
  }
}

/** Hi.Events has one user per email; the connector signs nobody in as a user it did not create for them. */
function emailInUse(): AppError {
  return new AppError('hi_events_email_in_use', 'A Hi.Events user with this email already exists');
}

/** Hi.Events keeps first and last names apart; Tuvens keeps one name. */
export function splitName(name: string): { firstName: string; lastName: string | null } {
  const [first, ...rest] = name.trim().split(/\s+/);
  return { firstName: first || 'Tuvens organizer', lastName: rest.join(' ') || null };
}
