import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SHARED_SECRET, startTestApi, type TestApi } from './helpers.ts';

describe(`the cross-app handshake over HTTP (${testDatabaseKind})`, () => {
  let api: TestApi;
  let organizer: string;

  beforeAll(async () => {
    api = await startTestApi();
    organizer = await api.login('organizer@tuvens.test');
  });
  afterAll(() => api.close());

  const generate = (jwt: string, eventId = 1) =>
    api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId, appId: 'hi-events' },
      headers: { authorization: `Bearer ${jwt}` },
    });
  const validate = (sessionToken: string, secret = DEV_SHARED_SECRET) =>
    api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: sessionToken },
      headers: { 'x-shared-secret': secret },
    });
  const sessionHeaders = (sessionToken: string) => ({
    'x-shared-secret': DEV_SHARED_SECRET,
    'x-session-token': sessionToken,
  });

  it('signs an organizer in: generate, then validate answers the user, account and event', async () => {
    const generated = await generate(organizer);
    expect(generated.status).toBe(200);
    expect(generated.body.session_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(generated.body.expires_at)).toBeGreaterThan(Date.now());

    const validated = await validate(generated.body.session_token);
    expect(validated.status).toBe(200);
    expect(validated.body.user_data).toMatchObject({
      email: 'organizer@tuvens.test',
      name: 'Olivia Organizer',
    });
    expect(validated.body.account_data).toMatchObject({ name: 'Tuvens Demo Events', role: 'owner' });
    expect(validated.body.event).toMatchObject({
      id: 1,
      title: 'Summer Concert in the Park',
      ticketing_status: 'none',
    });
  });

  it('stores only the hash of a session token, never the token itself', async () => {
    const { body } = await generate(organizer);
    const rows = await api.database.db.selectFrom('crossAppSession').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(body.session_token);
    expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.sessionTokenHash))).toBe(true);
  });

  it('lets a validated session read the user’s accounts and check permissions', async () => {
    const { body } = await generate(organizer);
    await validate(body.session_token);

    const accounts = await api.request('GET', '/api/cross-app/user-accounts', {
      headers: sessionHeaders(body.session_token),
    });
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts).toEqual([{ id: 1, name: 'Tuvens Demo Events', role: 'owner' }]);

    const permission = await api.request('POST', '/api/cross-app/validate-permission', {
      body: { permission: 'event:manage_ticketing', resource: { type: 'event', id: 1 } },
      headers: sessionHeaders(body.session_token),
    });
    expect(permission.status).toBe(200);
    expect(permission.body).toEqual({ allowed: true, role: 'owner' });
  });

  it('refuses follow-up calls with a session that was never validated', async () => {
    const { body } = await generate(organizer);
    const accounts = await api.request('GET', '/api/cross-app/user-accounts', {
      headers: sessionHeaders(body.session_token),
    });
    expect(accounts.status).toBe(401);
    expect(accounts.body.error.code).toBe('session_not_validated');
  });

  it('a consumed token cannot be used again, and the second use revokes the session', async () => {
    const { body } = await generate(organizer);
    expect((await validate(body.session_token)).status).toBe(200);

    const again = await validate(body.session_token);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('session_consumed');

    const followUp = await api.request('GET', '/api/cross-app/user-accounts', {
      headers: sessionHeaders(body.session_token),
    });
    expect(followUp.status).toBe(401);
    expect(followUp.body.error.code).toBe('session_revoked');
  });

  it('of 50 concurrent validations of one token exactly one succeeds', async () => {
    const { body } = await generate(organizer);
    const results = await Promise.all(Array.from({ length: 50 }, () => validate(body.session_token)));
    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(49);
  });

  it('refuses an unknown token', async () => {
    const unknown = await validate('A'.repeat(43));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('session_unknown');
  });

  it('refuses a wrong or missing shared secret before looking at the token', async () => {
    const { body } = await generate(organizer);
    const wrong = await validate(body.session_token, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_shared_secret');

    const missing = await api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: body.session_token },
    });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('invalid_shared_secret');

    // The refused attempts did not consume the token.
    expect((await validate(body.session_token)).status).toBe(200);
  });

  it('refuses a member and an attendee: only those who manage the event may enable ticketing', async () => {
    const member = await generate(await api.login('member@tuvens.test'));
    expect(member.status).toBe(403);
    expect(member.body.error.code).toBe('forbidden');

    const attendee = await generate(await api.login('attendee@tuvens.test'));
    expect(attendee.status).toBe(403);

    const sessions = await api.database.db
      .selectFrom('crossAppSession')
      .innerJoin('users', 'users.id', 'crossAppSession.userId')
      .select('users.email')
      .where('users.email', 'in', ['member@tuvens.test', 'attendee@tuvens.test'])
      .execute();
    expect(sessions).toEqual([]);
  });

  it('answers 404 for an unknown event and 401 without a sign-in', async () => {
    const unknown = await generate(organizer, 999_999);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('event_not_found');

    const signedOut = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events' },
    });
    expect(signedOut.status).toBe(401);
    expect(signedOut.body.error.code).toBe('unauthorized');
  });

  it('answers that a member may view but not manage an event, through a validated session', async () => {
    const { body } = await generate(organizer);
    await validate(body.session_token);
    const view = await api.request('POST', '/api/cross-app/validate-permission', {
      body: { permission: 'event:view', resource: { type: 'event', id: 2 } },
      headers: sessionHeaders(body.session_token),
    });
    expect(view.body).toEqual({ allowed: true, role: 'owner' });

    const mismatched = await api.request('POST', '/api/cross-app/validate-permission', {
      body: { permission: 'event:view', resource: { type: 'account', id: 1 } },
      headers: sessionHeaders(body.session_token),
    });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error.message).toContain('resource.type');
  });
});
