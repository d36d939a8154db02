import { type Kysely, sql } from 'kysely';
import { pruneAuditLog } from '../audit/audit-log.ts';
import { deleteEndedCounters } from '../auth/login-limits.ts';
import type { ApiConfig } from '../config.ts';
import type { ApiDatabase } from '../database/schema.ts';
import { deleteOldReceipts, WEBHOOK_RECEIPT_RETENTION_MS } from '../webhooks/receipts.ts';
import type { Metrics } from './metrics.ts';

/** The advisory lock of a cleanup run; not the connector's, so that the two may share a database. */
export const CLEANUP_LOCK_KEY = 7_401_002;
const DAY_S = 24 * 60 * 60;

export interface CleanupPolicy {
  /** How long an expired or revoked session is kept for the record before it is deleted. */
  sessionRetentionSeconds: number;
  /** Days an audit entry is kept (`AUDIT_LOG_RETENTION_DAYS`); 0 keeps them all. */
  auditLogRetentionDays: number;
}

/** The policy of a config: sessions kept a week after they end, audit entries as configured. */
export function cleanupPolicy(config: Pick<ApiConfig, 'auditLogRetentionDays'>): CleanupPolicy {
  return { sessionRetentionSeconds: 7 * DAY_S, auditLogRetentionDays: config.auditLogRetentionDays };
}

export type CleanupResult =
  | { ran: false }
  | {
      ran: true;
      sessionsDeleted: number;
      receiptsDeleted: number;
      auditEntriesDeleted: number;
      /** Sign-in limit counters of windows that have ended. */
      countersDeleted: number;
      sessionsByState: Record<string, number>;
    };

/**
 * Deletes cross-app sessions that expired or were revoked longer ago than the retention, webhook
 * receipts past theirs, audit entries older than the policy keeps them, and sign-in limit counters
 * whose window has ended. A transaction-scoped advisory lock lets one instance run it at a time; the
 * others skip, so running it on every instance on a schedule is safe.
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
    const auditEntriesDeleted =
      policy.auditLogRetentionDays > 0
        ? await pruneAuditLog(trx, new Date(now.getTime() - policy.auditLogRetentionDays * DAY_S * 1000))
        : 0;
    const countersDeleted = await deleteEndedCounters(trx, now);

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
      auditEntriesDeleted,
      countersDeleted,
      sessionsByState: {
        live: Number(counts.live),
        expired: Number(counts.expired),
        revoked: Number(counts.revoked),
      },
    };
  });
}

/** The outcome of a cleanup run as a one-line summary for operators. */
export function describeCleanup(result: CleanupResult): string {
  if (!result.ran) return 'Another instance is cleaning up right now; nothing done.';
  return (
    `Deleted ${result.sessionsDeleted} session(s), ${result.receiptsDeleted} webhook receipt(s) ` +
    `and ${result.auditEntriesDeleted} audit entries.`
  );
}

/**
 * Runs the cleanup now and then every `intervalSeconds`, recording each run in the metrics. Answers
 * the function that stops it, which waits for a run under way, so that the database is not closed
 * beneath it.
 */
export function scheduleCleanup(
  ctx: { db: Kysely<ApiDatabase>; clock: () => Date; metrics: Metrics; config: ApiConfig },
  intervalSeconds: number,
  log: { error: (details: object, message: string) => void },
): () => Promise<void> {
  const policy = cleanupPolicy(ctx.config);
  let running: Promise<void> | undefined;
  const run = async () => {
    try {
      const result = await runCleanup(ctx.db, ctx.clock(), policy);
      ctx.metrics.cleanupRuns.inc({ outcome: result.ran ? 'ran' : 'skipped' });
      if (!result.ran) return;
      ctx.metrics.cleanupDeleted.inc({ kind: 'session' }, result.sessionsDeleted);
      ctx.metrics.cleanupDeleted.inc({ kind: 'webhook_receipt' }, result.receiptsDeleted);
      ctx.metrics.cleanupDeleted.inc({ kind: 'audit_entry' }, result.auditEntriesDeleted);
      ctx.metrics.cleanupDeleted.inc({ kind: 'rate_limit_counter' }, result.countersDeleted);
      for (const [state, count] of Object.entries(result.sessionsByState)) {
        ctx.metrics.crossAppSessions.set({ state }, count);
      }
    } catch (error) {
      ctx.metrics.cleanupRuns.inc({ outcome: 'failed' });
      log.error({ err: error }, 'cleanup failed');
    }
  };
  const start = () => {
    running ??= run().finally(() => {
      running = undefined;
    });
  };
  start();
  const timer = setInterval(start, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
