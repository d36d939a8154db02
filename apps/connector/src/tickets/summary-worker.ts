import type { FastifyBaseLogger } from 'fastify';
import { findAccountMapping, type LinkingDeps, ownerIdentity } from '../linking/identities.ts';
import { createWorkLoop } from '../work-loop.ts';
import { deriveTicketSummary } from './derive-summary.ts';
import {
  type ClaimedSummary,
  claimDueSummaries,
  type DerivationOutcome,
  deferNextDerivation,
  nextSummaryDueAt,
  recordDerivation,
  requestTicketSummary,
} from './summary-state.ts';

export interface TicketSummaryWorker {
  /** Asks for an event's summary to be derived again (a product or order changed); durable once it resolves. */
  request(hiEventsEventId: number): Promise<boolean>;
  /** tuvens-api acknowledged a summary of this event: its next one waits a whole interval from now. */
  delivered(tuvensEventId: number): Promise<void>;
  /** Derives every summary due now, once; answers how many were queued for tuvens-api. */
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export interface TicketSummaryWorkerDeps extends LinkingDeps {
  log: FastifyBaseLogger;
  /** A summary was queued in the outbox. */
  onQueued: () => void;
}

const CLAIM_LIMIT = 8;
const IDLE_POLL_MS = 5_000;
const RETRY_BASE_MS = 2_000;
const RETRY_MAX_MS = 5 * 60_000;

/**
 * Keeps each linked event's ticket summary current (docs/contract.md#ticket-summary). Webhooks and the
 * reconciler only count a request up (`requestTicketSummary`); this loop reads the public event once for
 * all the requests counted, at most once per event per `TICKET_SUMMARY_INTERVAL_MS`, and queues the
 * summary in the status outbox when it changed; the interval runs from the later of the derivation and
 * tuvens-api's acknowledgement of the summary it queued (`delivered`). A request that lands while its event is being derived
 * stays counted, so the last state is always read after the last change; requests live in the database,
 * so a restart loses none.
 */
export function createTicketSummaryWorker(deps: TicketSummaryWorkerDeps): TicketSummaryWorker {
  const { db, clock, hiEvents, config, log } = deps;
  const intervalMs = config.tickets.summaryIntervalMs;
  const leaseMs = 2 * config.hiEvents.timeoutMs + 10_000;
  /** The earliest turn that requests reported since the loop last read the due times from the database. */
  let earliestRequestedMs = Number.POSITIVE_INFINITY;

  /**
   * A request was counted for an event whose next derivation may start at `dueAt`. The loop is woken
   * only when that is sooner than it would look anyway: in a burst of order webhooks the event's turn is
   * nearly always later, and waking for each of hundreds a second would run a claim for each.
   */
  function requested(dueAt: Date): void {
    earliestRequestedMs = Math.min(earliestRequestedMs, dueAt.getTime());
    loop.wakeBefore(dueAt);
  }

  async function derive(claim: ClaimedSummary): Promise<DerivationOutcome> {
    const link = await db
      .selectFrom('event_links')
      .select(['tuvens_account_id', 'hi_events_event_id'])
      .where('tuvens_event_id', '=', claim.tuvensEventId)
      .executeTakeFirst();
    if (!link || link.hi_events_event_id !== claim.hiEventsEventId) return { kind: 'nothing' };
    const account = await findAccountMapping(db, link.tuvens_account_id);
    if (!account) return { kind: 'nothing' };
    const observedAt = clock();
    try {
      const lookup = await hiEvents.getPublicEvent(ownerIdentity(account), claim.hiEventsEventId);
      // Buyers see an event only while it is live (GetEventPublicAction::canUserViewEvent).
      if (!lookup.found || (lookup.event.status !== undefined && lookup.event.status !== 'LIVE')) {
        return { kind: 'nothing' };
      }
      const summary = deriveTicketSummary(lookup.event, {
        fewLeftThreshold: config.tickets.fewLeftThreshold,
        now: observedAt,
      });
      return { kind: 'derived', summary, observedAt };
    } catch (error) {
      const delayMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(claim.failures, 20));
      log.warn(
        { err: error, tuvensEventId: claim.tuvensEventId, retryInMs: delayMs },
        'could not read the public event for its ticket summary; will retry',
      );
      return { kind: 'failed', retryAt: new Date(clock().getTime() + delayMs) };
    }
  }

  async function runOnce(): Promise<number> {
    let queued = 0;
    for (;;) {
      const claims = await claimDueSummaries(db, clock(), { limit: CLAIM_LIMIT, leaseMs });
      const results = await Promise.all(
        claims.map(async (claim) =>
          recordDerivation(db, claim, await derive(claim), { now: clock(), intervalMs }),
        ),
      );
      const count = results.filter(Boolean).length;
      queued += count;
      if (count > 0) deps.onQueued();
      if (claims.length < CLAIM_LIMIT) return queued;
    }
  }

  const loop = createWorkLoop({
    name: 'ticket summary worker',
    clock,
    log,
    pollIntervalMs: IDLE_POLL_MS,
    async runRound() {
      await runOnce();
      return false;
    },
    async nextDueAt() {
      // A request committed before this read is in it; one that lands during it is in `earliestRequestedMs`.
      earliestRequestedMs = Number.POSITIVE_INFINITY;
      const due = await nextSummaryDueAt(db, clock());
      const dueMs = Math.min(due?.getTime() ?? Number.POSITIVE_INFINITY, earliestRequestedMs);
      return Number.isFinite(dueMs) ? new Date(dueMs) : undefined;
    },
  });

  return {
    async request(hiEventsEventId) {
      const dueAt = await requestTicketSummary(db, hiEventsEventId, clock());
      if (dueAt) requested(dueAt);
      return dueAt !== undefined;
    },
    async delivered(tuvensEventId) {
      const notBefore = new Date(clock().getTime() + intervalMs);
      await deferNextDerivation(db, tuvensEventId, notBefore);
      // Requests held back while the summary was out are due then.
      requested(notBefore);
    },
    runOnce,
    start: loop.start,
    stop: loop.stop,
  };
}
