import { type Kysely, sql } from 'kysely';
import { addMember, createAccount } from '../accounts/memberships.ts';
import type { ApiDatabase } from '../database/schema.ts';
import { createEvent } from '../events/events.ts';
import { createUser } from '../users/users.ts';

export const DEMO_PASSWORD = 'tuvens-demo';

/** The demo logins, all with the password `tuvens-demo`. */
export const DEMO_LOGINS = [
  { email: 'organizer@tuvens.test', name: 'Olivia Organizer', role: 'owner of “Tuvens Demo Events”' },
  { email: 'member@tuvens.test', name: 'Milo Member', role: 'member: may view, may not manage ticketing' },
  { email: 'attendee@tuvens.test', name: 'Ada Attendee', role: 'no account' },
] as const;

const DAY_MS = 24 * 60 * 60 * 1000;

const SEED_LOCK_KEY = 7_401_001;

/**
 * Creates the demo users, account and two events, once: it does nothing when any user exists.
 * An advisory lock keeps two instances starting together from seeding twice.
 */
export async function seedDemoData(db: Kysely<ApiDatabase>, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`.execute(trx);
    const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (existing) return false;
    await insertDemoData(trx, now);
    return true;
  });
}

async function insertDemoData(db: Kysely<ApiDatabase>, now: Date): Promise<void> {
  const users = [];
  for (const login of DEMO_LOGINS) {
    users.push(await createUser(db, { email: login.email, name: login.name, password: DEMO_PASSWORD }));
  }
  const [organizer, member] = users;
  const account = await createAccount(db, { name: 'Tuvens Demo Events', ownerId: organizer!.id });
  await addMember(db, { accountId: account.id, userId: member!.id, role: 'member' });
  const at = (days: number, hour: number) => {
    const day = new Date(now.getTime() + days * DAY_MS);
    day.setUTCHours(hour, 0, 0, 0);
    return day.toISOString();
  };
  await createEvent(db, account.id, {
    title: 'Summer Concert in the Park',
    starts_at: at(14, 18),
    ends_at: at(14, 22),
    visibility: 'public',
  });
  await createEvent(db, account.id, {
    title: 'Community Tech Meetup',
    starts_at: at(30, 17),
    ends_at: at(30, 20),
    visibility: 'public',
  });
}
