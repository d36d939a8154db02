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

  const generate = (token: string, eventId = 1) =>
    api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId, appId: 'hi-events' },
      headers: { authorization: `Bearer ${token}` },
    });
  const validate = (sessionToken: string, secret = DEV_SHARED_SECRET) =>
    api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: sessionToken },
      headers: { 'x-shared-secret': secret },
    });

  it('signs an organizer in: generate, then validate answers the user, account and event', async () => {
    const generated = await generate(organizer);
    expect(generated.status).toBe(200);
    expect(generated.body.session_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const validated = await validate(generated.body.session_token);
    expect(validated.status).toBe(200);
    expect(validated.body.user_data.email).toBe('organizer@tuvens.test');
    expect(validated.body.account_data).toMatchObject({ name: 'Tuvens Demo Events', role: 'owner' });
    expect(validated.body.event).toMatchObject({ id: 1, ticketing_status: 'none' });
  });

  it('a consumed token cannot be used again, and the second use revokes the session', async () => {
    const { body } = await generate(organizer);
    expect((await validate(body.session_token)).status).toBe(200);
    const again = await validate(body.session_token);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('session_consumed');
    const followUp = await api.request('GET', '/api/cross-app/user-accounts', {
      headers: { 'x-shared-secret': DEV_SHARED_SECRET, 'x-session-token': body.session_token },
    });
    expect(followUp.status).toBe(401);
    expect(followUp.body.error.code).toBe('session_revoked');
  });
});
