import type { FastifyBaseLogger } from 'fastify';
import type { EventLinkRow } from '../database/schema.ts';
import type { Metrics } from '../http/metrics.ts';
import { registerEventWebhook } from '../linking/event-links.ts';
import { findAccountMapping, type LinkingDeps, ownerIdentity } from '../linking/identities.ts';
import { requestTicketSummary } from '../tickets/summary-state.ts';
import { recordObservation } from './observations.ts';

export interface Reconciler {
  /** Re-reads every linked event not re-read within the interval; answers how many statuses were queued. */
  runOnce(): Promise<{ checked: number; queued: number; failed: number }>;
  start(): void;
  stop(): Promise<void>;
}

export interface ReconcilerDeps extends LinkingDeps {
  log: FastifyBaseLogger;
  metrics: Metrics;
  onStatusQueued: () => void;
}

const BATCH_SIZE = 100;
const CONCURRENCY = 4;

/**
 * Hi.Events sends each webhook once, and nothing at all when an event simply ends, so the connector
 * re-reads its linked events on a schedule (`RECONCILE_INTERVAL_S`) and queues any difference from
 * what it last reported. A re-read also finishes what a sign-in left undone (registering the event's
 * webhook). Expired records are pruned by the cleanup job, on a schedule of its own.
 */
export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { db, clock, hiEvents, config, log, metrics } = deps;
  const intervalMs = config.reconcileIntervalSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function reconcileLink(link: EventLinkRow): Promise<number> {
    const account = await findAccountMapping(db, link.tuvens_account_id);
    if (!account) return 0;
    const as = ownerIdentity(account);
    if (!link.webhook_id) {
      await registerEventWebhook(deps, link, as).catch((error: unknown) =>
        log.warn(
          { err: error, tuvensEventId: link.tuvens_event_id },
          'Hi.Events webhook still not registered',
        ),
      );
    }
    // The time the question was asked: a webhook that arrives while it is answered is newer.
    const askedAt = clock();
    const lookup = await hiEvents.getEvent(as, link.hi_events_event_id);
    const result = await recordObservation(
      db,
      {
        hiEventsEventId: link.hi_events_event_id,
        state: lookup.found
          ? { status: lookup.event.status, lifecycle_status: lookup.event.lifecycle_status }
          : { deleted: true },
        observedAt: askedAt,
        eventUrl: lookup.found ? hiEvents.eventPageUrl(lookup.event) : undefined,
      },
      clock(),
    );
    // Sales windows open and close without a webhook; a re-read re-derives the ticket summary too.
    if (lookup.found) await requestTicketSummary(db, link.hi_events_event_id, askedAt);
    await db
      .updateTable('event_links')
      .set({ reconciled_at: askedAt })
      .where('tuvens_event_id', '=', link.tuvens_event_id)
      .execute();
    return result.applied ? result.queued.length : 0;
  }

  async function runOnce() {
    const now = clock();
    const dueBefore = new Date(now.getTime() - intervalMs);
    const totals = { checked: 0, queued: 0, failed: 0 };
    let after = -1;
    for (;;) {
      const links = await db
        .selectFrom('event_links')
        .selectAll()
        .where('tuvens_event_id', '>', after)
        .where((eb) => eb.or([eb('reconciled_at', 'is', null), eb('reconciled_at', '<=', dueBefore)]))
        .orderBy('tuvens_event_id')
        .limit(BATCH_SIZE)
        .execute();
      if (links.length === 0) break;
      after = links.at(-1)!.tuvens_event_id;
      for (let index = 0; index < links.length; index += CONCURRENCY) {
        await Promise.all(
          links.slice(index, index + CONCURRENCY).map(async (link) => {
            totals.checked += 1;
            try {
              const queued = await reconcileLink(link);
              totals.queued += queued;
              metrics.reconciliations.inc({ outcome: queued > 0 ? 'changed' : 'unchanged' });
            } catch (error) {
              totals.failed += 1;
              metrics.reconciliations.inc({ outcome: 'failed' });
              log.warn(
                { err: error, tuvensEventId: link.tuvens_event_id },
                'could not re-read a linked event',
              );
            }
          }),
        );
      }
    }
    if (totals.queued > 0) deps.onStatusQueued();
    if (totals.checked > 0) log.info(totals, 'linked events re-read from Hi.Events');
    return totals;
  }

  const schedule = (delayMs = intervalMs) => {
    timer = setTimeout(() => {
      running = runOnce()
        .catch((error: unknown) => log.error({ err: error }, 'reconciliation failed'))
        .finally(() => {
          running = undefined;
          if (timer) schedule();
        });
    }, delayMs);
  };

  return {
    runOnce,
    start() {
      if (intervalMs <= 0 || timer) return;
      // Soon after start-up, so that a restart does not leave changes unseen for a whole interval.
      schedule(Math.min(intervalMs, 5_000));
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
