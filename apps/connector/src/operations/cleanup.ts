import type { Clock } from '@tuvens/server';
import type { FastifyBaseLogger } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { pruneConnectorSessions } from '../auth/connector-sessions.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import type { Metrics } from '../http/metrics.ts';
import { pruneLapsedClaims } from '../linking/claims.ts';
import { pruneDeliveredMessages } from '../outbox/outbox.ts';
import { pruneWebhookReceipts } from '../status/hi-events-webhooks.ts';

/** The advisory lock of a cleanup run; not tuvens-api's, so that the two may share a database. */
export const CLEANUP_LOCK_KEY = 7_401_003;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CleanupPolicy {
  /** Days a delivered status webhook is kept for the record (`OUTBOX_RETENTION_DAYS`); 0 keeps them all. */
  outboxRetentionDays: number;
}

/** Rows one cleanup run deleted, by kind. */
export interface CleanupCounts {
  sessions: number;
  claims: number;
  webhookReceipts: number;
  deliveredMessages: number;
}

export type CleanupResult = { ran: false } | { ran: true; deleted: CleanupCounts };

/**
 * Deletes what the connector no longer needs: its sessions a day after they ended, provisioning
 * claims whose holders are gone, Hi.Events webhook receipts past their week, and delivered status
 * webhooks past the policy's retention. Pending messages and dead letters stay. A transaction-scoped
 * advisory lock lets one instance run it at a time; the others skip, so every instance may run it
 * on a schedule.
 */
export async function runCleanup(
  db: Kysely<ConnectorDatabase>,
  now: Date,
  policy: CleanupPolicy,
): Promise<CleanupResult> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_xact_lock(${CLEANUP_LOCK_KEY}) as locked`.execute(trx);
    if (!rows[0]?.locked) return { ran: false };
    const deliveredBefore = new Date(now.getTime() - policy.outboxRetentionDays * DAY_MS);
    return {
      ran: true,
      deleted: {
        sessions: await pruneConnectorSessions(trx, now),
        claims: await pruneLapsedClaims(trx, now),
        webhookReceipts: await pruneWebhookReceipts(trx, now),
        deliveredMessages:
          policy.outboxRetentionDays > 0 ? await pruneDeliveredMessages(trx, deliveredBefore) : 0,
      },
    };
  });
}

/** The same counts as a one-line summary for operators. */
export function describeCleanup(result: CleanupResult): string {
  if (!result.ran) return 'Another instance is cleaning up right now; nothing done.';
  const { sessions, claims, webhookReceipts, deliveredMessages } = result.deleted;
  return (
    `Deleted ${sessions} session(s), ${claims} lapsed claim(s), ${webhookReceipts} webhook receipt(s) ` +
    `and ${deliveredMessages} delivered message(s).`
  );
}

/**
 * Runs the cleanup now and then every `intervalSeconds`, recording each run in the metrics, on a
 * schedule of its own (the reconciler's may be off). Answers the function that stops it, which
 * waits for a run under way, so that the database is not closed beneath it.
 */
export function scheduleCleanup(
  deps: { db: Kysely<ConnectorDatabase>; clock: Clock; metrics: Metrics; log: FastifyBaseLogger },
  options: { intervalSeconds: number; policy: CleanupPolicy },
): () => Promise<void> {
  const { db, clock, metrics, log } = deps;
  let running: Promise<void> | undefined;
  const run = async () => {
    try {
      const result = await runCleanup(db, clock(), options.policy);
      metrics.cleanupRuns.inc({ outcome: result.ran ? 'ran' : 'skipped' });
      if (!result.ran) return;
      for (const [kind, count] of Object.entries(result.deleted)) metrics.cleanupDeleted.inc({ kind }, count);
      if (Object.values(result.deleted).some((count) => count > 0)) log.info(result.deleted, 'cleaned up');
    } catch (error) {
      metrics.cleanupRuns.inc({ outcome: 'failed' });
      log.error({ err: error }, 'cleanup failed');
    }
  };
  const start = () => {
    running ??= run().finally(() => {
      running = undefined;
    });
  };
  start();
  const timer = setInterval(start, options.intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
