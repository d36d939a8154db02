import { testDatabaseKind } from '@tuvens/database/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRoutes, startTestApi, type TestApi } from './helpers.ts';

describe(`sign-in and events (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('signs a demo user in and answers who they are with /api/auth/me', async () => {
    const login = await api.request('POST', '/api/auth/login', {
      body: { email: 'Organizer@Tuvens.test', password: 'tuvens-demo' },
    });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ email: 'organizer@tuvens.test' });

    const me = await api.request('GET', '/api/auth/me', {
      headers: { authorization: `Bearer ${login.body.token}` },
    });
    expect(me.status).toBe(200);
    expect(me.body.accounts).toEqual([{ id: 1, name: 'Tuvens Demo Events', role: 'owner' }]);
  });

  it('refuses a wrong password and an unknown email with the same answer', async () => {
    const wrong = await api.request('POST', '/api/auth/login', {
      body: { email: 'organizer@tuvens.test', password: 'guess' },
    });
    const unknown = await api.request('POST', '/api/auth/login', {
      body: { email: 'nobody@tuvens.test', password: 'guess' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('refuses forged JWTs: alg none, another key, and garbage', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: '1', iss: 'tuvens-api', aud: 'tuvens' })).toString(
      'base64url',
    );
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuer('tuvens-api')
      .setAudience('tuvens')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-key-of-sufficient-length-123456'));
    for (const token of [`${header}.${claims}.`, otherKey, 'garbage']) {
      const me = await api.request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('unauthorized');
    }
  });

  it('answers an event with every EventWithHiEvents field, in the seed’s names', async () => {
    const event = await api.request('GET', '/api/events/1');
    expect(event.status).toBe(200);
    expect(event.body).toEqual({
      id: 1,
      account_id: 1,
      account_name: 'Tuvens Demo Events',
      title: 'Summer Concert in the Park',
      starts_at: expect.any(String),
      ends_at: expect.any(String),
      visibility: 'public',
      ticketing_enabled: false,
      ticketing_status: 'none',
      hi_events_event_id: null,
      hi_events_event_url: null,
      hasTicketing: false,
      hiEventsEventId: null,
      contactData: {},
      can_manage_ticketing: false,
      ticket_summary: null,
    });
  });

  it('lets an organizer create an event and tells them they may manage it', async () => {
    const token = await api.login('organizer@tuvens.test');
    const created = await api.request('POST', '/api/events', {
      body: { title: 'Autumn Gala', starts_at: '2026-12-01T18:00:00Z', ends_at: '2026-12-01T23:00:00+00:00' },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      title: 'Autumn Gala',
      account_id: 1,
      account_name: 'Tuvens Demo Events',
      can_manage_ticketing: true,
    });

    const list = await api.request('GET', '/api/events', { headers: { authorization: `Bearer ${token}` } });
    const listed = list.body.events.find((event: { title: string }) => event.title === 'Autumn Gala');
    expect(listed).toMatchObject({ account_name: 'Tuvens Demo Events' });
  });

  it('refuses event creation by a member or an attendee, and bad times with a named field', async () => {
    const body = { title: 'Not mine', starts_at: '2026-12-01T18:00:00Z', ends_at: '2026-12-01T19:00:00Z' };
    for (const email of ['member@tuvens.test', 'attendee@tuvens.test']) {
      const refused = await api.request('POST', '/api/events', {
        body,
        headers: { authorization: `Bearer ${await api.login(email)}` },
      });
      expect(refused.status).toBe(403);
    }
    const backwards = await api.request('POST', '/api/events', {
      body: { ...body, ends_at: '2026-12-01T17:00:00Z' },
      headers: { authorization: `Bearer ${await api.login('organizer@tuvens.test')}` },
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.message).toMatch(/^body\.ends_at: /);
  });

  it('hides a private event from people outside its account', async () => {
    const token = await api.login('organizer@tuvens.test');
    const created = await api.request('POST', '/api/events', {
      body: {
        title: 'Staff party',
        starts_at: '2026-12-20T18:00:00Z',
        ends_at: '2026-12-20T22:00:00Z',
        visibility: 'private',
      },
      headers: { authorization: `Bearer ${token}` },
    });
    const path = `/api/events/${created.body.id}`;
    expect((await api.request('GET', path)).status).toBe(404);
    const attendee = await api.login('attendee@tuvens.test');
    expect(
      (await api.request('GET', path, { headers: { authorization: `Bearer ${attendee}` } })).status,
    ).toBe(404);
    const member = await api.login('member@tuvens.test');
    const seen = await api.request('GET', path, { headers: { authorization: `Bearer ${member}` } });
    expect(seen.status).toBe(200);
    expect(seen.body.can_manage_ticketing).toBe(false);
  });

  it('answers health and readiness', async () => {
    expect((await api.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await api.request('GET', '/readyz')).body).toEqual({ status: 'ready', database: true });
  });

  it('documents every route in OpenAPI', async () => {
    const { body } = await api.request('GET', '/docs/json');
    const documented = Object.entries(body.paths as Record<string, object>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = listRoutes(api.app)
      // HEAD and CORS preflights come with the others; /docs is the documentation itself.
      .filter(({ method, path }) => !['HEAD', 'OPTIONS'].includes(method) && !path.startsWith('/docs'))
      .map(({ method, path }) => `${method} ${path.replace(/:([a-z_]+)/gi, '{$1}')}`)
      // Prometheus' scrape target, left out of the API's documentation on purpose.
      .filter((route) => route !== 'GET /metrics');
    expect(served).toContain('GET /api/events/{id}');
    expect(documented.sort()).toEqual(served.sort());
  });
});
