import { createHash } from 'node:crypto';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cookiesOf,
  freePort,
  LogCapture,
  startApiWithLogs,
  startTestConnector,
  startTestStack,
  type TestStack,
} from './helpers.ts';

describe(`the cross-app handshake between tuvens-api, the connector and Hi.Events (${testDatabaseKind})`, () => {
  const logs = { api: new LogCapture(), connector: new LogCapture(), emulator: new LogCapture() };
  const tokens: string[] = [];
  let stack: TestStack;

  /** A fresh session token for an event; every one is remembered, to look for it in the logs later. */
  const newToken = async (eventId = 1, jwt?: string) => {
    const token = await stack.generateSessionToken(eventId, jwt);
    tokens.push(token);
    return token;
  };
  const connectorDb = () => stack.connector.database.db;
  const tuvensEvent = async (id: number) =>
    (
      await stack.api.request('GET', `/api/events/${id}`, {
        headers: { authorization: `Bearer ${stack.organizer}` },
      })
    ).body;
  const hiEventsFor = (tuvensEventId: number) =>
    [...stack.emulator.store.events.values()].filter((event) =>
      event.attributes.some(
        (attribute) => attribute.name === 'tuvens_event_id' && attribute.value === String(tuvensEventId),
      ),
    );

  beforeAll(async () => {
    stack = await startTestStack({
      api: await startApiWithLogs(logs.api),
      emulatorLogger: logs.emulator.logger('debug'),
      connector: { logger: logs.connector.logger('debug') },
    });
  });
  afterAll(() => stack.close());

  it('signs an organizer in: Hi.Events gets an account, organizer, user and event, and they land on its ticket set-up', async () => {
    const signedIn = await stack.signIn(await newToken(1));
    expect(signedIn.status).toBe(200);
    const hiEvent = hiEventsFor(1)[0]!;
    expect(signedIn.body).toEqual({
      redirect_to: `${stack.emulator.url}/manage/event/${hiEvent.id}/products`,
      hi_events_event_id: hiEvent.id,
      hi_events_event_url: `${stack.emulator.url}/event/${hiEvent.id}/summer-concert-in-the-park`,
    });
    expect(signedIn.headers.get('cache-control')).toBe('no-store');

    const cookies = cookiesOf(signedIn.headers);
    const session = cookies.tuvens_connector_session!;
    expect(session.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.attributes).toMatch(/HttpOnly/);
    expect(session.attributes).toMatch(/SameSite=Lax/);
    expect(session.attributes).toMatch(/Path=\//);
    expect(cookies.token!.attributes).toMatch(/HttpOnly/);

    // Cookies ignore ports, so the Hi.Events sign-in cookie set by the connector opens Hi.Events' own page.
    const setup = await fetch(signedIn.body.redirect_to, {
      headers: { cookie: `token=${cookies.token!.value}` },
    });
    expect(setup.status).toBe(200);
    expect(await setup.text()).toContain('Summer Concert in the Park');

    const { store } = stack.emulator;
    const user = store.findUserByEmail('organizer@tuvens.test')!;
    expect(store.membership(user.id, hiEvent.account_id)).toMatchObject({ role: 'ADMIN' });
    expect(store.organizers.get(hiEvent.organizer_id)).toMatchObject({ name: 'Tuvens Demo Events' });
    expect([...store.webhooks.values()].filter((webhook) => webhook.event_id === hiEvent.id)).toEqual([
      expect.objectContaining({
        url: `${stack.connector.url}/webhooks/hi-events/${hiEvent.id}`,
        status: 'ENABLED',
      }),
    ]);

    const me = await stack.connector.request('GET', '/auth/session', {
      headers: { cookie: `tuvens_connector_session=${session.value}` },
    });
    expect(me.body).toMatchObject({ tuvens_user_id: 1, tuvens_event_id: 1, hi_events_user_id: user.id });
    const stored = JSON.stringify(await connectorDb().selectFrom('connector_sessions').selectAll().execute());
    expect(stored).not.toContain(session.value);
    expect(stored).toContain(createHash('sha256').update(session.value).digest('hex'));
  });

  it('reports status setup, with the Hi.Events event id and public URL, to tuvens-api', async () => {
    await stack.connector.connector.outbox.runOnce();
    const hiEvent = hiEventsFor(1)[0]!;
    expect(await tuvensEvent(1)).toMatchObject({
      ticketing_enabled: true,
      ticketing_status: 'setup',
      hi_events_event_id: hiEvent.id,
      hi_events_event_url: `${stack.emulator.url}/event/${hiEvent.id}/summer-concert-in-the-park`,
    });
  });

  it('reuses the same Hi.Events user, account and event on a second sign-in, and reports nothing new', async () => {
    const before = {
      users: stack.emulator.store.users.size,
      accounts: stack.emulator.store.accounts.size,
      events: stack.emulator.store.events.size,
      messages: (await connectorDb().selectFrom('status_outbox').select('id').execute()).length,
    };
    const again = await stack.signIn(await newToken(1));
    expect(again.status).toBe(200);
    expect(again.body.hi_events_event_id).toBe(hiEventsFor(1)[0]!.id);
    expect({
      users: stack.emulator.store.users.size,
      accounts: stack.emulator.store.accounts.size,
      events: stack.emulator.store.events.size,
      messages: (await connectorDb().selectFrom('status_outbox').select('id').execute()).length,
    }).toEqual(before);
  });

  it('links one Hi.Events event however many “enable” clicks arrive at once', async () => {
    const sessionTokens = await Promise.all([1, 2, 3, 4, 5, 6].map(() => newToken(2)));
    const answers = await Promise.all(sessionTokens.map((token) => stack.signIn(token, 2)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(hiEventsFor(2)).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.body.hi_events_event_id))).toEqual(
      new Set([hiEventsFor(2)[0]!.id]),
    );
    const setups = await connectorDb()
      .selectFrom('status_outbox')
      .select('ticketing_status')
      .where('tuvens_event_id', '=', 2)
      .execute();
    expect(setups).toEqual([{ ticketing_status: 'setup' }]);
    expect(stack.emulator.store.accounts.size).toBe(1);
  });

  it('tells the person in plain words when a link was already used, has expired or is not theirs to use', async () => {
    const used = await newToken(1);
    await stack.signIn(used);
    const again = await stack.signIn(used);
    expect(again.status).toBe(401);
    expect(again.body.error).toEqual({ code: 'link_used', message: expect.stringContaining('already used') });

    const expiring = await newToken(1);
    await stack.api.database.db
      .updateTable('crossAppSession')
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where('sessionTokenHash', '=', createHash('sha256').update(expiring).digest('hex'))
      .execute();
    const expired = await stack.signIn(expiring);
    expect(expired.status).toBe(401);
    expect(expired.body.error).toEqual({ code: 'link_expired', message: expect.stringContaining('expired') });

    // Between the click and the sign-in, the organizer stopped managing the account.
    const demoted = await newToken(1);
    await stack.api.database.db
      .updateTable('account_members')
      .set({ role: 'member' })
      .where('user_id', '=', 1)
      .execute();
    try {
      const refused = await stack.signIn(demoted);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toEqual({
        code: 'not_allowed',
        message: expect.stringContaining('not allowed'),
      });
    } finally {
      await stack.api.database.db
        .updateTable('account_members')
        .set({ role: 'owner' })
        .where('user_id', '=', 1)
        .execute();
    }

    const malformed = await stack.signIn('not-a-session-token');
    expect(malformed.status).toBe(401);
    expect(malformed.body.error.code).toBe('link_invalid');
  });

  it('says Tuvens is unreachable when it is, and refuses sign-ins posted from another site', async () => {
    const nowhere = await startTestConnector({
      tuvensApiUrl: `http://127.0.0.1:${await freePort()}`,
      hiEventsUrl: stack.emulator.url,
      env: { TUVENS_API_RETRIES: '1' },
      database: stack.connector.database,
    });
    try {
      const unreachable = await nowhere.request('POST', '/auth/cross-app/validate', {
        body: { session_token: 'B'.repeat(43), event_id: '1' },
        headers: { origin: nowhere.config.publicOrigin },
      });
      expect(unreachable.status).toBe(502);
      expect(unreachable.body.error).toEqual({
        code: 'tuvens_unreachable',
        message: expect.stringContaining('could not reach Tuvens'),
      });
    } finally {
      await nowhere.close();
    }

    const token = await newToken(1);
    const crossSite = await stack.connector.request('POST', '/auth/cross-app/validate', {
      body: { session_token: token },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('origin_not_allowed');
    // The refused post did not spend the link.
    expect((await stack.signIn(token)).status).toBe(200);
  });

  it('signs out of both the connector and Hi.Events', async () => {
    const signedIn = await stack.signIn(await newToken(1));
    const cookies = cookiesOf(signedIn.headers);
    const cookie = `tuvens_connector_session=${cookies.tuvens_connector_session!.value}; token=${cookies.token!.value}`;
    const signedOut = await stack.connector.request('POST', '/auth/sign-out', {
      headers: { cookie, origin: stack.connector.config.publicOrigin },
    });
    expect(signedOut.status).toBe(200);
    expect(signedOut.body).toEqual({ signed_out: true, redirect_to: stack.connector.config.tuvens.webUrl });
    const cleared = cookiesOf(signedOut.headers);
    expect(cleared.tuvens_connector_session!.value).toBe('');
    expect(cleared.token!.value).toBe('');

    expect((await stack.connector.request('GET', '/auth/session', { headers: { cookie } })).status).toBe(401);
    const hiEvents = await fetch(`${stack.emulator.url}/api/users/me`, {
      headers: { cookie: `token=${cookies.token!.value}` },
    });
    expect(hiEvents.status).toBe(401);
  });

  it('serves a self-contained landing page: one script and one style pinned by hash, no referrer, not cached', async () => {
    const landing = await fetch(`${stack.connector.url}/auth/cross-app`);
    const html = await landing.text();
    const csp = landing.headers.get('content-security-policy')!;
    expect(landing.headers.get('referrer-policy')).toBe('no-referrer');
    expect(landing.headers.get('cache-control')).toBe('no-store');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const script = html.match(/<script>([\s\S]*?)<\/script>/)![1]!;
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1]!;
    expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(html).not.toMatch(/<script[^>]+src=|<link|<img|\son[a-z]+=/i);
    expect(() => new Function(script)).not.toThrow();
  });

  it('never writes a session token, cookie, JWT or secret to any server’s log', async () => {
    expect(tokens.length).toBeGreaterThan(10);
    const signedIn = await stack.signIn(await newToken(2));
    const cookies = Object.values(cookiesOf(signedIn.headers))
      .map((cookie) => cookie.value)
      .filter((value) => value.length > 0);
    expect(cookies.length).toBeGreaterThan(0);
    const secrets = [
      stack.organizer,
      ...cookies,
      'dev-cross-app-shared-secret-0123456789abcdef',
      'dev-hi-events-shared-secret-0123456789abcdef',
      'dev-hi-events-jwt-secret-0123456789abcdef',
    ];
    for (const [server, capture] of Object.entries(logs)) {
      expect(capture.lines.length, `${server} logged nothing`).toBeGreaterThan(0);
      for (const token of tokens)
        expect(capture.text, `${server} logged a session token`).not.toContain(token);
      for (const secret of secrets)
        expect(capture.text, `${server} logged a credential`).not.toContain(secret);
    }
    expect(logs.connector.text).toContain('/auth/cross-app/validate');
  });
});
