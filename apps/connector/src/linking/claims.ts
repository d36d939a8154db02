import { randomBytes } from 'node:crypto';
import type { Clock } from '@tuvens/server';
import { type Kysely, sql } from 'kysely';
import type { ConnectorDatabase } from '../database/schema.ts';
import { AppError } from '../errors.ts';

export interface CreateOnceOptions<T> {
  /** Names what is created, e.g. `event:42`; one claim per name at a time. */
  resource: string;
  /** What exists already, if anything; asked before and after taking the claim. */
  find: () => Promise<T | undefined>;
  /** Creates it; runs only while holding the claim. */
  create: () => Promise<T>;
}

export interface ClaimSettings {
  db: Kysely<ConnectorDatabase>;
  clock: Clock;
  /** How long a claim holds if its holder never releases it (a crash); then another may take over. */
  leaseMs: number;
  /** How long a request waits for someone else's claim before answering "busy". */
  waitMs: number;
  pollMs?: number;
}

/**
 * Makes sure something is created once however many requests ask for it at the same moment, on
 * one instance or several: the first takes a lease row in the database and creates it; the others
 * wait until they can find it. Hi.Events' API has no idempotency keys, so this is where "two
 * concurrent enables make one event" is enforced.
 */
export async function createOnce<T>(settings: ClaimSettings, options: CreateOnceOptions<T>): Promise<T> {
  const { db, clock } = settings;
  const deadline = Date.now() + settings.waitMs;
  for (;;) {
    const existing = await options.find();
    if (existing !== undefined) return existing;
    const token = await takeClaim(db, options.resource, clock(), settings.leaseMs);
    if (token) {
      try {
        return (await options.find()) ?? (await options.create());
      } finally {
        await releaseClaim(db, options.resource, token);
      }
    }
    if (Date.now() > deadline) {
      throw new AppError('busy', 'Ticketing for this event is still being set up; try again in a moment');
    }
    await new Promise((resolve) => setTimeout(resolve, settings.pollMs ?? 50));
  }
}

/** Takes the claim on a resource if nobody holds it or its holder's lease has lapsed; answers its token. */
async function takeClaim(
  db: Kysely<ConnectorDatabase>,
  resource: string,
  now: Date,
  leaseMs: number,
): Promise<string | undefined> {
  const token = randomBytes(16).toString('hex');
  const expiresAt = new Date(now.getTime() + leaseMs);
  const taken = await db
    .insertInto('provisioning_claims')
    .values({ resource, claim_token: token, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('resource')
        .doUpdateSet({ claim_token: token, expires_at: expiresAt })
        .where(sql.ref('provisioning_claims.expires_at'), '<=', now),
    )
    .returning('claim_token')
    .executeTakeFirst();
  return taken?.claim_token === token ? token : undefined;
}

async function releaseClaim(db: Kysely<ConnectorDatabase>, resource: string, token: string): Promise<void> {
  await db
    .deleteFrom('provisioning_claims')
    .where('resource', '=', resource)
    .where('claim_token', '=', token)
    .execute();
}

/**
 * Removes claims whose holders are long gone; housekeeping only, since lapsed claims are taken over
 * anyway. Answers how many.
 */
export async function pruneLapsedClaims(db: Kysely<ConnectorDatabase>, now: Date): Promise<number> {
  const result = await db.deleteFrom('provisioning_claims').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
