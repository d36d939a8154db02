import { type Kysely, sql } from 'kysely';
import type { ApiDatabase } from '../database/schema.ts';
import { deleteOldReceipts, WEBHOOK_RECEIPT_RETENTION_MS } from '../webhooks/receipts.ts';
import type { Metrics } from './metrics.ts';

const CLEANUP_LOCK_KEY = 7_401_002;
const DAY_S = 24 * 60 * 60;

export interface CleanupPolicy {
  /** How long an expired or revoked session is kept for the record before it is deleted. */
  sessionRetentionSeconds: number;
}

export const DEFAULT_CLEANUP_POLICY: CleanupPolicy = { sessionRetentionSeconds: 7 * DAY_S };

export type CleanupResult =
  | { ran: false }
  | { ran: true; sessionsDeleted: number; receiptsDeleted: number; sessionsByState: Record<string, number> };

/**
 * Deletes cross-app sessions that expired or were revoked longer ago than the retention, and
 * webhook receipts past theirs. A transaction-scoped advisory lock lets one instance run it at a time; the others
 * skip, so running it on every instance on a schedule is safe.
 */
export async function runCleanup(
  db: Kysely<ApiDatabase>,
  now: Date,
  policy: CleanupPolicy,
): Promise<CleanupResult> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_xact_lock(${CLEANUP_LOCK_KEY}) as locked`.execute(trx);
    if (!rows[0]?.locked) return { ran: false };

    const sessionCutoff = new Date(now.getTime() - policy.sessionRetentionSeconds * 1000);
    const sessions = await trx
      .deleteFrom('crossAppSession')
      .where((where) =>
        where.or([where('expiresAt', '<', sessionCutoff), where('revoked_at', '<', sessionCutoff)]),
      )
      .executeTakeFirst();

    const receiptsDeleted = await deleteOldReceipts(
      trx,
      new Date(now.getTime() - WEBHOOK_RECEIPT_RETENTION_MS),
    );

    const counts = await trx
      .selectFrom('crossAppSession')
      .select((select) => [
        select.fn.countAll<number>().filterWhere('revoked_at', 'is not', null).as('revoked'),
        select.fn
          .countAll<number>()
          .filterWhere((where) => where.and([where('revoked_at', 'is', null), where('expiresAt', '<=', now)]))
          .as('expired'),
        select.fn
          .countAll<number>()
          .filterWhere((where) => where.and([where('revoked_at', 'is', null), where('expiresAt', '>', now)]))
          .as('live'),
      ])
      .executeTakeFirstOrThrow();

    return {
      ran: true,
      sessionsDeleted: Number(sessions.numDeletedRows),
      receiptsDeleted,
      sessionsByState: {
        live: Number(counts.live),
        expired: Number(counts.expired),
        revoked: Number(counts.revoked),
      },
    };
  });
}

/** Runs the cleanup now and then every `intervalSeconds`, recording each run in the metrics; answers the stop function. */
export function scheduleCleanup(
  ctx: { db: Kysely<ApiDatabase>; clock: () => Date; metrics: Metrics },
  intervalSeconds: number,
  log: { error: (details: object, message: string) => void },
): () => void {
  const run = async () => {
    try {
      const result = await runCleanup(ctx.db, ctx.clock(), DEFAULT_CLEANUP_POLICY);
      ctx.metrics.cleanupRuns.inc({ outcome: result.ran ? 'ran' : 'skipped' });
      if (!result.ran) return;
      ctx.metrics.cleanupDeleted.inc({ kind: 'session' }, result.sessionsDeleted);
      ctx.metrics.cleanupDeleted.inc({ kind: 'webhook_receipt' }, result.receiptsDeleted);
      for (const [state, count] of Object.entries(result.sessionsByState)) {
        ctx.metrics.crossAppSessions.set({ state }, count);
      }
    } catch (error) {
      ctx.metrics.cleanupRuns.inc({ outcome: 'failed' });
      log.error({ err: error }, 'cleanup failed');
    }
  };
  void run();
  const timer = setInterval(run, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
