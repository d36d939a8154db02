import { EVENT_UPDATES_PATH } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/users/users.ts';
import {
  DEMO_PASSWORD,
  enableTicketing,
  newTicketingEvent,
  openUpdatesStream,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

/** Opens a raw updates stream; `ended` resolves with how long it stayed open once the server ends it. */
async function openStream(url: string, token: string) {
  const controller = new AbortController();
  const openedAt = Date.now();
  const response = await fetch(`${url}${EVENT_UPDATES_PATH}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const ended = (async () => {
    const reader = response.body!.getReader();
    try {
      while (!(await reader.read()).done) {}
    } catch {}
    return Date.now() - openedAt;
  })();
  return { ended, close: () => controller.abort() };
}

describe(`sign-ins that end (${testDatabaseKind})`, () => {
  let api: TestApi;
  const me = (token: string) =>
    api.request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_ACCESS_CHECK_INTERVAL_S: '1' } });
    await enableTicketing(api.database.db, 2);
  });
  afterAll(() => api.close());

  it('signing out ends the token at once, and its open streams', async () => {
    const token = await api.login('attendee@tuvens.test');
    const stream = await openStream(api.url, token);
    const out = await api.request('POST', '/api/auth/logout', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(out.status).toBe(204);
    const after = await me(token);
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/ended/);
    expect(await stream.ended).toBeLessThan(5_000);
    // A fresh sign-in works.
    expect((await me(await api.login('attendee@tuvens.test'))).status).toBe(200);
  });

  it('changing the password ends every other sign-in and keeps the one that changed it', async () => {
    await createUser(api.database.db, {
      email: 'changer@tuvens.test',
      name: 'Changer',
      password: DEMO_PASSWORD,
    });
    const other = await api.login('changer@tuvens.test');
    const mine = await api.login('changer@tuvens.test');
    const wrong = await api.request('POST', '/api/auth/password', {
      headers: { authorization: `Bearer ${mine}` },
      body: { current_password: 'guess', new_password: 'a-new-password-123' },
    });
    expect(wrong.status).toBe(401);
    expect((await me(other)).status).toBe(200);

    const changed = await api.request('POST', '/api/auth/password', {
      headers: { authorization: `Bearer ${mine}` },
      body: { current_password: DEMO_PASSWORD, new_password: 'a-new-password-123' },
    });
    expect(changed.status).toBe(200);
    expect((await me(other)).status).toBe(401);
    expect((await me(mine)).status).toBe(401);
    expect((await me(changed.body.token)).status).toBe(200);
    const again = await api.request('POST', '/api/auth/login', {
      body: { email: 'changer@tuvens.test', password: 'a-new-password-123' },
    });
    expect(again.status).toBe(200);
  });

  it('refuses a correctly signed token without an expiry', async () => {
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuer('tuvens-api')
      .setAudience('tuvens')
      .setIssuedAt()
      .sign(api.config.jwt.secret);
    expect((await me(forever)).status).toBe(401);
  });

  it('a stream stops carrying an account’s private events once its viewer is removed from it', async () => {
    const privateEvent = {
      id: await newTicketingEvent(api.database.db, { title: 'Board dinner', visibility: 'private' }),
    };
    const token = await api.login('member@tuvens.test');
    const stream = openUpdatesStream(api.url, { headers: { authorization: `Bearer ${token}` } });
    try {
      await stream.waitUntilReady();
      await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: privateEvent!.id, status: 'setup' }));
      await stream.waitForChanges(1);

      const member = await api.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', 'member@tuvens.test')
        .executeTakeFirstOrThrow();
      await api.database.db.deleteFrom('account_members').where('user_id', '=', member.id).execute();
      // The stream ends and its client reconnects, now seeing public events only.
      await stream.waitUntilReady(2, 5_000);
      await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: privateEvent!.id, status: 'active' }));
      await sendStatusWebhook(
        api,
        statusWebhook({ tuvens_event_id: 2, status: 'setup', hi_events_event_id: 8 }),
      );
      const changes = await stream.waitForChanges(2);
      expect(changes.map((change) => change.data.eventId)).toEqual([privateEvent!.id, 2]);
    } finally {
      stream.close();
    }
  });

  it('a stream ends when the token it was opened with expires', async () => {
    const shortLived = await startTestApi({ env: { JWT_EXPIRY: '2' }, database: api.database });
    try {
      const stream = await openStream(shortLived.url, await shortLived.login('organizer@tuvens.test'));
      const openMs = await stream.ended;
      expect(openMs).toBeGreaterThan(1_000);
      expect(openMs).toBeLessThan(4_000);
    } finally {
      await shortLived.close();
    }
  });
});
