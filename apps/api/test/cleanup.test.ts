import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../src/cross-app/sessions.ts';
import { DEFAULT_CLEANUP_POLICY, runCleanup } from '../src/operations/cleanup.ts';
import { startTestApi, type TestApi } from './helpers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const policy = { expirySeconds: 900, maxLifetimeSeconds: 12 * 3600 };

describe(`the cleanup job (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('deletes sessions and receipts past their retention, keeps the rest, and is safe to run twice at once', async () => {
    const db = api.database.db;
    const now = new Date('2026-11-23T12:00:00Z');
    const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY_MS);
    const session = { userId: 1, accountId: 1, eventId: 1, appId: 'hi-events', policy };
    await createSession(db, { ...session, now: at(10) }); // expired 10 days ago: deleted
    await createSession(db, { ...session, now: at(3) }); // expired 3 days ago: kept for the record
    const live = await createSession(db, { ...session, now }); // live: kept
    await db
      .updateTable('crossAppSession')
      .set({ revoked_at: at(8) })
      .where('createdAt', '=', at(3))
      .execute();
    await db
      .insertInto('webhook_receipts')
      .values([
        { id: 'old', received_at: at(5), event_id: 1, outcome: 'applied' },
        { id: 'recent', received_at: at(1), event_id: 1, outcome: 'applied' },
      ])
      .execute();

    const [first, second] = await Promise.all([
      runCleanup(db, now, DEFAULT_CLEANUP_POLICY),
      runCleanup(db, now, DEFAULT_CLEANUP_POLICY),
    ]);
    const ran = [first, second].filter((result) => result.ran);
    const deleted = ran.reduce((sum, result) => sum + (result.ran ? result.sessionsDeleted : 0), 0);
    // The session created 3 days ago was revoked 8 days ago, past the 7-day retention: both old ones go.
    expect(deleted).toBe(2);

    const sessions = await db.selectFrom('crossAppSession').select('expiresAt').execute();
    expect(sessions).toEqual([{ expiresAt: live.expiresAt }]);
    const receipts = await db.selectFrom('webhook_receipts').select('id').execute();
    expect(receipts.map((receipt) => receipt.id)).toEqual(['recent']);
    const last = ran.at(-1);
    expect(last?.ran && last.sessionsByState).toEqual({ live: 1, expired: 0, revoked: 0 });
  });
});
