import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../src/auth/jwt.ts';
import { createUser } from '../src/users/users.ts';
import { DEMO_PASSWORD, DEV_SHARED_SECRET, startTestApi, type TestApi } from './helpers.ts';

/** What each step of the handshake writes, and what it answers when the user's rights change midway. */
describe(`the rows and answers of the cross-app handshake (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const db = () => api.database.db;
  const userId = async (email: string) =>
    (await db().selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
  const setRole = (email: string, role: 'owner' | 'admin' | 'member') =>
    userId(email).then((id) =>
      db()
        .updateTable('account_members')
        .set({ role })
        .where('user_id', '=', id)
        .where('account_id', '=', 1)
        .execute(),
    );
  const generate = (jwt: string, userAgent: string, eventId = 1) =>
    api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId, appId: 'hi-events' },
      headers: { authorization: `Bearer ${jwt}`, 'user-agent': userAgent },
    });
  const validate = (sessionToken: string, userAgent: string) =>
    api.request('POST', '/api/cross-app/validate-session', {
      body: { session_token: sessionToken },
      headers: { 'x-shared-secret': DEV_SHARED_SECRET, 'user-agent': userAgent },
    });
  const auditRows = (userAgent: string) =>
    db()
      .selectFrom('audit_log')
      .select([
        'action',
        'outcome',
        'actor',
        'actor_user_id',
        'reason',
        'event_id',
        'ip',
        'user_agent',
        'details',
      ])
      .where('user_agent', '=', userAgent)
      .orderBy('id')
      .execute();
  const metricsText = async () => (await fetch(`${api.url}/metrics`)).text();

  it('writes one audit row per step, and validation consumes the session and slides its expiry', async () => {
    const organizer = await userId('organizer@tuvens.test');
    const generated = await generate(await api.login('organizer@tuvens.test'), 'rows-generate');
    expect(generated.status).toBe(200);
    const validated = await validate(generated.body.session_token, 'rows-validate');
    expect(validated.status).toBe(200);
    expect(validated.body).toEqual({
      user_data: { id: organizer, email: 'organizer@tuvens.test', name: 'Olivia Organizer' },
      account_data: { id: 1, name: 'Tuvens Demo Events', role: 'owner' },
      event: {
        id: 1,
        title: 'Summer Concert in the Park',
        starts_at: expect.any(String),
        ends_at: expect.any(String),
        ticketing_status: 'none',
        hi_events_event_id: null,
      },
      expires_at: expect.any(String),
    });

    const row = { actor_user_id: organizer, event_id: 1, ip: expect.stringMatching(/127\.0\.0\.1/) };
    expect(await auditRows('rows-generate')).toEqual([
      {
        ...row,
        action: 'cross_app.session.generate',
        outcome: 'success',
        actor: 'user',
        reason: null,
        user_agent: 'rows-generate',
        details: { appId: 'hi-events', bound: false },
      },
    ]);
    expect(await auditRows('rows-validate')).toEqual([
      {
        ...row,
        action: 'cross_app.session.validate',
        outcome: 'success',
        actor: 'connector',
        reason: null,
        user_agent: 'rows-validate',
        details: {},
      },
    ]);

    const session = await db()
      .selectFrom('crossAppSession')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(session).toMatchObject({ userId: organizer, accountId: 1, event_id: 1, appId: 'hi-events' });
    expect(session.consumed_at).toBeInstanceOf(Date);
    expect(session.lastUsed).toEqual(session.consumed_at);
    expect(session.revoked_at).toBeNull();
    expect(session.expiresAt.toISOString()).toBe(validated.body.expires_at);
    expect(session.expiresAt.getTime()).toBeGreaterThanOrEqual(Date.parse(generated.body.expires_at));
  });

  it('lets an admin through, and refuses validation once they are demoted, consuming the token all the same', async () => {
    const member = await userId('member@tuvens.test');
    const jwt = await api.login('member@tuvens.test');
    await setRole('member@tuvens.test', 'admin');
    try {
      const allowed = await generate(jwt, 'rows-admin');
      expect(allowed.status).toBe(200);
      expect((await validate(allowed.body.session_token, 'rows-admin')).body.account_data.role).toBe('admin');

      const demoted = await generate(jwt, 'rows-demoted');
      expect(demoted.status).toBe(200);
      await setRole('member@tuvens.test', 'member');
      const refused = await validate(demoted.body.session_token, 'rows-demoted');
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('forbidden');
      const again = await validate(demoted.body.session_token, 'rows-demoted');
      expect(again.status).toBe(401);
      expect(again.body.error.code).toBe('session_consumed');

      const row = {
        action: 'cross_app.session.validate',
        outcome: 'failure',
        actor: 'connector',
        actor_user_id: member,
        event_id: 1,
        ip: expect.stringMatching(/127\.0\.0\.1/),
        user_agent: 'rows-demoted',
        details: {},
      };
      expect((await auditRows('rows-demoted')).slice(1)).toEqual([
        { ...row, reason: 'no_longer_allowed' },
        { ...row, reason: 'consumed' },
      ]);
      expect(await metricsText()).toContain(
        'tuvens_cross_app_calls_total{call="cross_app.session.validate",outcome="no_longer_allowed"} 1',
      );
    } finally {
      await setRole('member@tuvens.test', 'member');
    }
  });

  it('refuses validation once the user has left the account', async () => {
    const jwt = await api.login('member@tuvens.test');
    const member = await userId('member@tuvens.test');
    await setRole('member@tuvens.test', 'owner');
    const generated = await generate(jwt, 'rows-left');
    expect(generated.status).toBe(200);
    await db().deleteFrom('account_members').where('user_id', '=', member).execute();
    try {
      const refused = await validate(generated.body.session_token, 'rows-left');
      expect(refused.status).toBe(403);
      expect((await auditRows('rows-left')).at(-1)).toMatchObject({
        outcome: 'failure',
        reason: 'no_longer_allowed',
        actor_user_id: member,
      });
    } finally {
      await db()
        .insertInto('account_members')
        .values({ account_id: 1, user_id: member, role: 'member' })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    }
  });

  it('answers 404 for an unknown event or another account’s private one, 403 for one it may only see', async () => {
    const organizer = await userId('organizer@tuvens.test');
    const jwt = await api.login('organizer@tuvens.test');
    const account = await db()
      .insertInto('accounts')
      .values({ name: 'Someone Else' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const event = (visibility: 'public' | 'private') =>
      db()
        .insertInto('events')
        .values({
          account_id: account.id,
          title: `A ${visibility} event`,
          starts_at: new Date('2031-01-01T18:00:00Z'),
          ends_at: new Date('2031-01-01T20:00:00Z'),
          visibility,
          hi_events_event_id: null,
          hi_events_event_url: null,
          hiEventsEventId: null,
          ticketing_updated_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
        .then((row) => row.id);
    const [publicEvent, privateEvent] = [await event('public'), await event('private')];

    const unknown = await generate(jwt, 'rows-refused', 999_999);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'event_not_found']);
    const hidden = await generate(jwt, 'rows-refused', privateEvent);
    expect([hidden.status, hidden.body.error.code]).toEqual([404, 'event_not_found']);
    const visible = await generate(jwt, 'rows-refused', publicEvent);
    expect([visible.status, visible.body.error.code]).toEqual([403, 'forbidden']);

    const row = {
      action: 'cross_app.session.generate',
      outcome: 'failure',
      actor: 'user',
      actor_user_id: organizer,
      ip: expect.stringMatching(/127\.0\.0\.1/),
      user_agent: 'rows-refused',
      details: {},
    };
    expect(await auditRows('rows-refused')).toEqual([
      { ...row, event_id: 999_999, reason: 'unknown_event' },
      { ...row, event_id: privateEvent, reason: 'unknown_event' },
      { ...row, event_id: publicEvent, reason: 'not_allowed' },
    ]);
    const sessions = await db()
      .selectFrom('crossAppSession')
      .select('id')
      .where('event_id', 'in', [publicEvent, privateEvent])
      .execute();
    expect(sessions).toEqual([]);
  });

  it('answers 401 to a valid sign-in of a user who no longer exists, and records nothing', async () => {
    const user = await createUser(db(), { email: 'gone@tuvens.test', name: 'Gone', password: DEMO_PASSWORD });
    await db()
      .insertInto('account_members')
      .values({ account_id: 1, user_id: user.id, role: 'owner' })
      .execute();
    const jwt = await issueAccessToken(api.config, { id: user.id, token_version: 0 }, new Date());
    await db().deleteFrom('users').where('id', '=', user.id).execute();

    const gone = await generate(jwt, 'rows-gone');
    expect(gone.status).toBe(401);
    expect(gone.body.error).toMatchObject({
      code: 'unauthorized',
      message: 'The signed-in user no longer exists',
    });
    expect(await auditRows('rows-gone')).toEqual([]);
  });
});
