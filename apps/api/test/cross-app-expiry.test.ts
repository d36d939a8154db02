import { testDatabaseKind } from '@tuvens/database/testing';
import { createManualClock } from '@tuvens/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SHARED_SECRET, startTestApi, type TestApi } from './helpers.ts';

const MINUTE_MS = 60_000;

describe(`session expiry and the sliding window (${testDatabaseKind})`, () => {
  const time = createManualClock(new Date('2026-11-23T10:00:00Z'));
  let api: TestApi;
  let organizer: string;

  beforeAll(async () => {
    api = await startTestApi({ clock: time.clock, env: { CROSS_APP_SESSION_EXPIRY: '900' } });
    organizer = await api.login('organizer@tuvens.test');
  });
  afterAll(() => api.close());

  async function newValidatedSession() {
    const generated = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events' },
      headers: { authorization: `Bearer ${organizer}` },
    });
    const token: string = generated.body.session_token;
    const validated = await api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: token },
      headers: { 'x-shared-secret': DEV_SHARED_SECRET },
    });
    expect(validated.status).toBe(200);
    return token;
  }
  const useSession = (token: string) =>
    api.request('GET', '/api/cross-app/user-accounts', {
      headers: { 'x-shared-secret': DEV_SHARED_SECRET, 'x-session-token': token },
    });

  it('expires an unused token after CROSS_APP_SESSION_EXPIRY', async () => {
    const generated = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events' },
      headers: { authorization: `Bearer ${organizer}` },
    });
    expect(Date.parse(generated.body.expires_at) - time.clock().getTime()).toBe(15 * MINUTE_MS);
    time.advance(15 * MINUTE_MS);
    const late = await api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: generated.body.session_token },
      headers: { 'x-shared-secret': DEV_SHARED_SECRET },
    });
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('session_expired');
  });

  it('slides the expiry on every use, so an active session stays alive past its first window', async () => {
    const token = await newValidatedSession();
    for (let step = 0; step < 4; step++) {
      time.advance(10 * MINUTE_MS);
      expect((await useSession(token)).status).toBe(200);
    }
    time.advance(15 * MINUTE_MS);
    const idle = await useSession(token);
    expect(idle.status).toBe(401);
    expect(idle.body.error.code).toBe('session_expired');
  });

  it('ends even an active session 12 hours after it was created', async () => {
    // A fresh login: the JWT issued earlier would have expired with the clock moved this far.
    organizer = await api.login('organizer@tuvens.test');
    const token = await newValidatedSession();
    for (let minutes = 10; minutes < 12 * 60; minutes += 10) {
      time.advance(10 * MINUTE_MS);
      expect((await useSession(token)).status).toBe(200);
    }
    time.advance(10 * MINUTE_MS);
    const tooOld = await useSession(token);
    expect(tooOld.status).toBe(401);
    expect(tooOld.body.error.code).toBe('session_expired');
  });
});
