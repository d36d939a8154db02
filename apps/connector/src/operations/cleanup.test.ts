import { openTestDatabase, type TestDatabase, testDatabaseKind } from '@tuvens/database/testing';
import { createManualClock } from '@tuvens/server';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConnector } from '../app.ts';
import { createConnectorSession } from '../auth/connector-sessions.ts';
import { loadConfig } from '../config.ts';
import { connectorMigrations } from '../database/migrations/index.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import { enqueueStatusChange, markDead, markDelivered } from '../outbox/outbox.ts';
import { CLEANUP_LOCK_KEY, runCleanup } from './cleanup.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_S = 60 * 60;
const now = new Date('2026-11-23T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);
const policy = { outboxRetentionDays: 30 };

describe(`the connector's cleanup (${testDatabaseKind})`, () => {
  let database: TestDatabase<ConnectorDatabase>;

  beforeAll(async () => {
    database = await openTestDatabase<ConnectorDatabase>(connectorMigrations);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    for (const table of [
      'connector_sessions',
      'provisioning_claims',
      'hi_events_webhook_receipts',
      'status_outbox',
    ] as const) {
      await database.db.deleteFrom(table).execute();
    }
  });

  /** A session of event `tuvensEventId` opened at `openedAt`, lasting 12 hours. */
  const openSession = (tuvensEventId: number, openedAt: Date) =>
    createConnectorSession(
      database.db,
      {
        tuvensUserId: 1,
        tuvensAccountId: 1,
        tuvensEventId,
        hiEventsUserId: 1,
        hiEventsAccountId: 1,
        sealedTuvensSessionToken: null,
      },
      openedAt,
      12 * HOUR_S,
    );

  /** A status message for event `tuvensEventId`, queued at `queuedAt` and left as `outcome`. */
  const queue = async (tuvensEventId: number, queuedAt: Date, outcome: 'pending' | 'delivered' | 'dead') => {
    const change = {
      tuvensEventId,
      status: 'setup' as const,
      hiEventsEventId: 7,
      hiEventsEventUrl: 'https://tickets.example/event/7/x',
      hiEventsStatus: 'DRAFT' as const,
      reason: 'linked',
      occurredAt: queuedAt,
    };
    const row = await enqueueStatusChange(database.db, change, queuedAt);
    if (outcome === 'delivered') await markDelivered(database.db, row.id, queuedAt, 200);
    if (outcome === 'dead')
      await markDead(database.db, row.id, queuedAt, { error: 'HTTP 404', statusCode: 404 });
  };

  const remaining = async () => ({
    sessions: (
      await database.db.selectFrom('connector_sessions').select('tuvens_event_id').orderBy('id').execute()
    ).map((row) => row.tuvens_event_id),
    claims: (
      await database.db.selectFrom('provisioning_claims').select('resource').orderBy('resource').execute()
    ).map((row) => row.resource),
    receipts: (
      await database.db
        .selectFrom('hi_events_webhook_receipts')
        .select('hi_events_event_id')
        .orderBy('hi_events_event_id')
        .execute()
    ).map((row) => row.hi_events_event_id),
    messages: (
      await database.db
        .selectFrom('status_outbox')
        .select(['tuvens_event_id', 'status'])
        .orderBy('id')
        .execute()
    ).map((row) => `${row.tuvens_event_id}:${row.status}`),
  });

  const seed = async () => {
    await openSession(1, daysAgo(3)); // ended two and a half days ago: deleted
    await openSession(2, daysAgo(1)); // ended half a day ago: kept
    await database.db
      .insertInto('provisioning_claims')
      .values([
        { resource: 'lapsed', claim_token: 'a', expires_at: daysAgo(0.01) },
        { resource: 'held', claim_token: 'b', expires_at: new Date(now.getTime() + 60_000) },
      ])
      .execute();
    await database.db
      .insertInto('hi_events_webhook_receipts')
      .values([
        {
          body_sha256: 'a'.repeat(64),
          hi_events_event_id: 8,
          event_type: 'event.updated',
          received_at: daysAgo(8),
        },
        {
          body_sha256: 'b'.repeat(64),
          hi_events_event_id: 9,
          event_type: 'event.updated',
          received_at: daysAgo(6),
        },
      ])
      .execute();
    await queue(10, daysAgo(40), 'delivered'); // past the 30 days: deleted
    await queue(11, daysAgo(20), 'delivered');
    await queue(12, daysAgo(40), 'dead'); // waits for an operator, however old
    await queue(13, daysAgo(40), 'pending');
  };

  it('deletes what is past its retention and keeps the rest: recent, pending and dead alike', async () => {
    await seed();
    const result = await runCleanup(database.db, now, policy);
    expect(result).toEqual({
      ran: true,
      deleted: { sessions: 1, claims: 1, webhookReceipts: 1, deliveredMessages: 1 },
    });
    expect(await remaining()).toEqual({
      sessions: [2],
      claims: ['held'],
      receipts: [9],
      messages: ['11:delivered', '12:dead', '13:pending'],
    });
  });

  it('keeps every delivered message when their retention is 0', async () => {
    await seed();
    await runCleanup(database.db, now, { outboxRetentionDays: 0 });
    expect((await remaining()).messages).toEqual(['10:delivered', '11:delivered', '12:dead', '13:pending']);
  });

  // PGlite is one connection in one process: no second instance can hold the lock meanwhile.
  it.skipIf(testDatabaseKind === 'pglite')(
    'skips while another instance is cleaning up, so that every instance may run it on a schedule',
    async () => {
      await seed();
      const whileLocked = await database.db.transaction().execute(async (other) => {
        await sql`select pg_advisory_xact_lock(${CLEANUP_LOCK_KEY})`.execute(other);
        return runCleanup(database.db, now, policy);
      });
      expect(whileLocked).toEqual({ ran: false });
      expect((await remaining()).sessions).toEqual([1, 2]);
      expect((await runCleanup(database.db, now, policy)).ran).toBe(true);
    },
  );

  it('runs on a schedule of its own, also with the reconciler turned off', async () => {
    await seed();
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RECONCILE_INTERVAL_S: '0',
      CLEANUP_INTERVAL_S: '3600',
    });
    const { app } = await buildConnector({
      config,
      database,
      clock: createManualClock(now).clock,
      // tuvens-api is not there: the pending message stays pending.
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
      logger: false,
      runBackgroundJobs: true,
    });
    try {
      await app.ready();
      await expect.poll(async () => (await remaining()).sessions, { timeout: 10_000 }).toEqual([2]);
      expect((await remaining()).messages).toEqual(['11:delivered', '12:dead', '13:pending']);
    } finally {
      await app.close();
    }
  });
});
