import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SHARED_SECRET, startTestApi, type TestApi } from './helpers.ts';

const OLD_SECRET = 'old-cross-app-secret-that-is-being-rotated-out';
const NEW_SECRET = 'new-cross-app-secret-that-is-being-rotated-in!';

describe(`shared-secret rotation and the audit trail (${testDatabaseKind})`, () => {
  let api: TestApi;
  let organizer: string;

  beforeAll(async () => {
    api = await startTestApi({ env: { CROSS_APP_SHARED_SECRET: `${NEW_SECRET},${OLD_SECRET}` } });
    organizer = await api.login('organizer@tuvens.test');
  });
  afterAll(() => api.close());

  const generate = async () => {
    const { body } = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 2, appId: 'hi-events' },
      headers: { authorization: `Bearer ${organizer}`, 'user-agent': 'audit-test' },
    });
    return body.session_token as string;
  };
  const validate = (token: string, secret: string) =>
    api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: token },
      headers: { 'x-shared-secret': secret },
    });

  it('accepts both the old and the new secret while a secret is rotated, and nothing else', async () => {
    expect((await validate(await generate(), OLD_SECRET)).status).toBe(200);
    expect((await validate(await generate(), NEW_SECRET)).status).toBe(200);
    expect((await validate(await generate(), DEV_SHARED_SECRET)).status).toBe(401);
  });

  it('writes an audit row for every attempt by a caller who proved something, and none holds a token or secret', async () => {
    const before = await api.database.db
      .selectFrom('audit_log')
      .select((select) => select.fn.max('id').as('id'))
      .executeTakeFirstOrThrow();
    const token = await generate();
    await validate(token, 'wrong-secret');
    await validate(token, NEW_SECRET);
    await validate(token, NEW_SECRET);
    await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events' },
      headers: { authorization: `Bearer ${await api.login('member@tuvens.test')}` },
    });

    // Every row since the test began, in order: one per attempt above, and nothing else. The wrong
    // secret is not written again: a wrong secret from this address was already audited this minute.
    const rows = await api.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', before.id ?? 0)
      .orderBy('id')
      .execute();
    expect(rows.map((row) => `${row.action}:${row.outcome}:${row.reason ?? ''}`)).toEqual([
      'cross_app.session.generate:success:',
      'cross_app.session.validate:success:',
      'cross_app.session.validate:failure:consumed',
      'auth.login:success:',
      'cross_app.session.generate:failure:not_allowed',
    ]);
    const generated = rows.find(
      (row) => row.action === 'cross_app.session.generate' && row.outcome === 'success',
    );
    expect(generated).toMatchObject({ actor: 'user', event_id: 2, user_agent: 'audit-test' });
    expect(generated?.ip).toMatch(/127\.0\.0\.1/);
    // A replayed token is traced to whose session it was.
    const replay = rows.find((row) => row.reason === 'consumed');
    expect(replay).toMatchObject({ actor_user_id: 1, event_id: 2 });

    const everything = JSON.stringify(rows);
    for (const secret of [token, NEW_SECRET, OLD_SECRET, 'wrong-secret', organizer, 'tuvens-demo']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('audits a flood of bad shared secrets by reason and address, not one row per request', async () => {
    const flood = await startTestApi({ env: { RATE_LIMIT_CROSS_APP_PER_MINUTE: '100000' } });
    try {
      const before = await flood.database.db
        .selectFrom('audit_log')
        .select((select) => select.fn.max('id').as('id'))
        .executeTakeFirstOrThrow();
      for (let i = 0; i < 1000; i += 1) {
        const headers: Record<string, string> = i % 2 === 0 ? { 'x-shared-secret': `wrong-${i}` } : {};
        const { status } = await flood.request('POST', '/api/cross-app/validate-session', {
          body: { session_token: 'x' },
          headers,
        });
        expect(status).toBe(401);
      }
      const rows = await flood.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('id', '>', before.id ?? 0)
        .execute();
      expect(rows.map((row) => row.reason).sort()).toEqual(['missing_shared_secret', 'wrong_shared_secret']);
    } finally {
      await flood.close();
    }
  });
});
