import { testDatabaseKind } from '@tuvens/database/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit-log.ts';
import { createSession } from '../src/cross-app/sessions.ts';
import { CLEANUP_LOCK_KEY, cleanupPolicy, runCleanup } from '../src/operations/cleanup.ts';
import { startTestApi, type TestApi } from './helpers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const policy = { expirySeconds: 900, maxLifetimeSeconds: 12 * 3600 };

describe(`the cleanup job (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const policy180 = cleanupPolicy({ auditLogRetentionDays: 180 });

  it('deletes sessions, receipts and audit entries past their retention, and keeps the rest', async () => {
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
    await recordAudit(db, at(200), { action: 'test.long_ago', outcome: 'success', actor: 'system' });
    await recordAudit(db, at(100), { action: 'test.lately', outcome: 'success', actor: 'system' });
    const testEntries = async () =>
      (
        await db
          .selectFrom('audit_log')
          .select('action')
          .where('action', 'like', 'test.%')
          .orderBy('id')
          .execute()
      ).map((row) => row.action);

    // A retention of 0 keeps every audit entry.
    const keepingAudit = await runCleanup(db, now, cleanupPolicy({ auditLogRetentionDays: 0 }));
    expect(keepingAudit.ran && keepingAudit.auditEntriesDeleted).toBe(0);
    expect(await testEntries()).toEqual(['test.long_ago', 'test.lately']);

    const result = await runCleanup(db, now, policy180);
    expect(result.ran).toBe(true);
    // The first run took both old sessions (the one created 3 days ago was revoked 8 days ago) and the old receipt.
    expect(keepingAudit).toMatchObject({ sessionsDeleted: 2, receiptsDeleted: 1 });
    expect(await testEntries()).toEqual(['test.lately']);
    const sessions = await db.selectFrom('crossAppSession').select('expiresAt').execute();
    expect(sessions).toEqual([{ expiresAt: live.expiresAt }]);
    const receipts = await db.selectFrom('webhook_receipts').select('id').execute();
    expect(receipts.map((receipt) => receipt.id)).toEqual(['recent']);
    expect(result.ran && result.sessionsByState).toEqual({ live: 1, expired: 0, revoked: 0 });
  });

  // PGlite is one connection in one process: no second instance can hold the lock meanwhile.
  it.skipIf(testDatabaseKind === 'pglite')(
    'skips while another instance is cleaning up, so that every instance may run it on a schedule',
    async () => {
      const db = api.database.db;
      const now = new Date('2026-11-23T12:00:00Z');
      await recordAudit(db, new Date(now.getTime() - 365 * DAY_MS), {
        action: 'test.locked_out',
        outcome: 'success',
        actor: 'system',
      });
      const whileLocked = await db.transaction().execute(async (other) => {
        await sql`select pg_advisory_xact_lock(${CLEANUP_LOCK_KEY})`.execute(other);
        return runCleanup(db, now, policy180);
      });
      expect(whileLocked).toEqual({ ran: false });
      const kept = await db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'test.locked_out')
        .execute();
      expect(kept).toHaveLength(1);
      expect((await runCleanup(db, now, policy180)).ran).toBe(true);
    },
  );
});
