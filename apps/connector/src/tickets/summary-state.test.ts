import { NO_TICKETS, TICKET_SUMMARY_WEBHOOK_PATH, type TicketSummary } from '@tuvens/contracts';
import { openTestDatabase, type TestDatabase, testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorMigrations } from '../database/migrations/index.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import { claimDueMessages, markDelivered, markForRetry } from '../outbox/outbox.ts';
import {
  type ClaimedSummary,
  claimDueSummaries,
  deferNextDerivation,
  recordDerivation,
  requestTicketSummary,
} from './summary-state.ts';

const ON_SALE: TicketSummary = {
  ...NO_TICKETS,
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 25,
  sales_state: 'on_sale',
};
const SOLD_OUT: TicketSummary = { ...ON_SALE, sales_state: 'sold_out' };
const INTERVAL_MS = 1_000;
const lease = { limit: 10, leaseMs: 30_000 };

describe(`ticket summary requests and their coalescing (${testDatabaseKind})`, () => {
  let database: TestDatabase<ConnectorDatabase>;
  let nextId = 100;

  beforeAll(async () => {
    database = await openTestDatabase<ConnectorDatabase>(connectorMigrations);
    const now = new Date();
    await database.db
      .insertInto('external_account_mappings')
      .values({
        tuvens_account_id: 1,
        hi_events_account_id: 1,
        hi_events_owner_user_id: 1,
        hi_events_organizer_id: 1,
        name: 'Tuvens Demo Events',
        created_at: now,
        updated_at: now,
      })
      .execute();
  });
  afterAll(() => database.close());

  const link = async () => {
    const tuvensEventId = ++nextId;
    const now = new Date();
    await database.db
      .insertInto('event_links')
      .values({
        tuvens_event_id: tuvensEventId,
        tuvens_account_id: 1,
        hi_events_event_id: tuvensEventId + 1000,
        hi_events_account_id: 1,
        hi_events_event_url: `https://tickets.example/event/${tuvensEventId + 1000}/x`,
        webhook_id: null,
        webhook_secret: null,
        hi_events_status: 'LIVE',
        hi_events_lifecycle_status: 'UPCOMING',
        observed_at: null,
        hi_events_sent_at: null,
        reported_status: 'active',
        reconciled_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return { tuvensEventId, hiEventsEventId: tuvensEventId + 1000 };
  };
  const queued = (tuvensEventId: number) =>
    database.db
      .selectFrom('status_outbox')
      .select(['body', 'status'])
      .where('tuvens_event_id', '=', tuvensEventId)
      .where('webhook_path', '=', TICKET_SUMMARY_WEBHOOK_PATH)
      .orderBy('id')
      .execute();
  /** Records that the derivation of `claim` read `summary` at `at`. */
  const derive = (claim: ClaimedSummary, summary: TicketSummary, at: Date) =>
    recordDerivation(
      database.db,
      claim,
      { kind: 'derived', summary, observedAt: at },
      { now: at, intervalMs: INTERVAL_MS },
    );
  /** Records that the derivation of `claim` could not read Hi.Events at `at`, to be tried again at `retryAt`. */
  const failRead = (claim: ClaimedSummary, at: Date, retryAt: Date) =>
    recordDerivation(database.db, claim, { kind: 'failed', retryAt }, { now: at, intervalMs: INTERVAL_MS });
  const claimFor = async (tuvensEventId: number, at: Date) =>
    (await claimDueSummaries(database.db, at, lease)).find((claim) => claim.tuvensEventId === tuvensEventId);

  it('a thousand requests for one event are served by one derivation', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await Promise.all(
      Array.from({ length: 1_000 }, () => requestTicketSummary(database.db, event.hiEventsEventId, t0)),
    );
    const claim = await claimFor(event.tuvensEventId, t0);
    expect(claim).toBeDefined();
    expect(await claimFor(event.tuvensEventId, t0)).toBeUndefined();
    await derive(claim!, ON_SALE, t0);
    expect(await queued(event.tuvensEventId)).toHaveLength(1);
    expect(await claimFor(event.tuvensEventId, new Date(t0.getTime() + 5_000))).toBeUndefined();
  });

  it('a request landing during a derivation is served by the next one, no sooner than the interval', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    const first = await claimFor(event.tuvensEventId, t0);
    // The last order of a burst arrives while Hi.Events is being read.
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    await derive(first!, ON_SALE, t0);

    expect(await claimFor(event.tuvensEventId, new Date(t0.getTime() + 999))).toBeUndefined();
    const t1 = new Date(t0.getTime() + INTERVAL_MS);
    const second = await claimFor(event.tuvensEventId, t1);
    expect(second).toBeDefined();
    await derive(second!, SOLD_OUT, t1);
    const bodies = (await queued(event.tuvensEventId)).map(
      (row) => JSON.parse(row.body).data.summary.sales_state,
    );
    // The first one still waits unsent, so the newer one replaces it: only the last state goes out.
    expect(bodies).toEqual(['sold_out']);
  });

  it('after tuvens-api acknowledged a summary, the next is read a whole interval later, never sooner than the derivation allows', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    await derive((await claimFor(event.tuvensEventId, t0))!, ON_SALE, t0);
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    // The delivery took 300 ms: tuvens-api had it at t0 + 300 at the latest.
    const acknowledged = new Date(t0.getTime() + 300);
    await deferNextDerivation(
      database.db,
      event.tuvensEventId,
      new Date(acknowledged.getTime() + INTERVAL_MS),
    );
    expect(await claimFor(event.tuvensEventId, new Date(t0.getTime() + INTERVAL_MS))).toBeUndefined();
    expect(await claimFor(event.tuvensEventId, new Date(acknowledged.getTime() + INTERVAL_MS))).toBeDefined();

    // An acknowledgement never brings the next turn forward.
    const other = await link();
    await requestTicketSummary(database.db, other.hiEventsEventId, t0);
    await failRead((await claimFor(other.tuvensEventId, t0))!, t0, new Date(t0.getTime() + 5_000));
    await deferNextDerivation(database.db, other.tuvensEventId, new Date(t0.getTime() + INTERVAL_MS));
    expect(await claimFor(other.tuvensEventId, new Date(t0.getTime() + 4_999))).toBeUndefined();
  });

  it('the same summary again is not queued, and a failed read is retried later without losing the request', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    await derive((await claimFor(event.tuvensEventId, t0))!, ON_SALE, t0);
    await database.db
      .updateTable('status_outbox')
      .set({ status: 'delivered' })
      .where('tuvens_event_id', '=', event.tuvensEventId)
      .execute();

    const t1 = new Date(t0.getTime() + INTERVAL_MS);
    await requestTicketSummary(database.db, event.hiEventsEventId, t1);
    const failing = await claimFor(event.tuvensEventId, t1);
    await failRead(failing!, t1, new Date(t1.getTime() + 2_000));
    expect(await claimFor(event.tuvensEventId, new Date(t1.getTime() + 1_000))).toBeUndefined();
    const t2 = new Date(t1.getTime() + 2_000);
    const retried = await claimFor(event.tuvensEventId, t2);
    expect(retried).toBeDefined();
    await derive(retried!, ON_SALE, t2);
    expect((await queued(event.tuvensEventId)).map((row) => row.status)).toEqual(['delivered']);
  });

  it('while a summary is out for delivery the next waits for the answer, however long it takes', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    await derive((await claimFor(event.tuvensEventId, t0))!, ON_SALE, t0);
    const [sending] = (await claimDueMessages(database.db, t0, { limit: 100, leaseMs: 60_000 })).filter(
      (row) => row.tuvens_event_id === event.tuvensEventId,
    );
    expect(sending).toBeDefined();
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);

    // tuvens-api has not answered 5 s later: no derivation yet.
    const t5 = new Date(t0.getTime() + 5_000);
    expect(await claimFor(event.tuvensEventId, t5)).toBeUndefined();

    // A failed attempt puts it back to wait for a retry: a newer summary may then replace it.
    await markForRetry(database.db, sending!.id, {
      nextAttemptAt: new Date(t5.getTime() + 60_000),
      error: 'tuvens-api answered 503',
      statusCode: 503,
    });
    expect(await claimFor(event.tuvensEventId, t5)).toBeDefined();
  });

  it('a summary answered by tuvens-api frees the event for its next turn', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    await derive((await claimFor(event.tuvensEventId, t0))!, ON_SALE, t0);
    const [sending] = (await claimDueMessages(database.db, t0, { limit: 100, leaseMs: 60_000 })).filter(
      (row) => row.tuvens_event_id === event.tuvensEventId,
    );
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    const answered = new Date(t0.getTime() + 2_000);
    expect(await claimFor(event.tuvensEventId, answered)).toBeUndefined();
    await markDelivered(database.db, sending!.id, answered, 200);
    await deferNextDerivation(database.db, event.tuvensEventId, new Date(answered.getTime() + INTERVAL_MS));
    expect(await claimFor(event.tuvensEventId, new Date(answered.getTime() + INTERVAL_MS))).toBeDefined();
  });

  it('a webhook being taken in for the event does not make the worker pass over it', async () => {
    const event = await link();
    const t0 = new Date('2026-12-03T12:00:00Z');
    await requestTicketSummary(database.db, event.hiEventsEventId, t0);
    // Mid-burst, some order webhook's request holds the event's row until it commits.
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const webhook = database.db.transaction().execute(async (trx) => {
      await requestTicketSummary(trx, event.hiEventsEventId, t0);
      locked();
      await committed;
    });
    await isLocked;
    const claiming = claimDueSummaries(database.db, t0, lease);
    await new Promise((resolve) => setTimeout(resolve, 50));
    commit();
    await webhook;
    expect((await claiming).map((claim) => claim.tuvensEventId)).toContain(event.tuvensEventId);
  });

  it('a request for an event that is not linked records nothing', async () => {
    expect(await requestTicketSummary(database.db, 987_654, new Date())).toBeUndefined();
  });
});
