import { addOrganizer } from '@tuvens/api/testing';
import { CROSS_APP_STATE_COOKIE } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookiesOf, startTestStack, type TestStack } from './helpers.ts';

describe(`a sign-in link completes only in the browser that started it (${testDatabaseKind})`, () => {
  let stack: TestStack;
  /** An organizer of another account, who would sign someone else's browser in as themselves. */
  let attacker: { jwt: string; eventId: number };

  beforeAll(async () => {
    stack = await startTestStack();
    const other = await addOrganizer(stack.api.database.db, {
      email: 'mallory@elsewhere.test',
      name: 'Mallory Other',
      accountName: 'Mallory Events',
      eventTitle: 'Mallory’s Gala',
    });
    attacker = { jwt: await stack.api.login(other.email), eventId: other.eventId };
  });
  afterAll(() => stack?.close());

  const isUnused = async (token: string) => {
    const described = await stack.api.request('POST', '/api/cross-app/describe-session', {
      body: { session_token: token },
      headers: { 'x-shared-secret': stack.connector.config.tuvens.sharedSecrets[0]! },
    });
    return described.status === 200;
  };
  const post = (body: Record<string, unknown>, cookie?: string) =>
    stack.connector.request('POST', '/auth/cross-app/validate', {
      body,
      headers: { origin: stack.connector.config.publicOrigin, ...(cookie ? { cookie } : {}) },
    });

  it('starts a sign-in with a short-lived HttpOnly state cookie and sends Tuvens only the S256 challenge', async () => {
    const started = await stack.connector.request('GET', '/auth/cross-app/start?event_id=1');
    expect(started.status).toBe(303);
    expect(started.headers.get('cache-control')).toBe('no-store');
    expect(started.headers.get('referrer-policy')).toBe('no-referrer');
    const target = new URL(started.headers.get('location')!);
    expect(`${target.origin}${target.pathname}`).toBe(
      `${stack.connector.config.tuvens.webUrl}/cross-app/authorize`,
    );
    expect(target.searchParams.get('event_id')).toBe('1');
    const state = target.searchParams.get('state')!;
    const challenge = target.searchParams.get('code_challenge')!;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const cookie = cookiesOf(started.headers)[CROSS_APP_STATE_COOKIE]!;
    expect(cookie.attributes).toMatch(/HttpOnly/i);
    expect(cookie.attributes).toMatch(/SameSite=Lax/i);
    expect(cookie.attributes).toMatch(/Path=\/auth\/cross-app/);
    expect(cookie.attributes).toMatch(/Max-Age=600/);
    const [cookieState, verifier] = cookie.value.split('.');
    expect(cookieState).toBe(state);
    // The verifier stays in the browser: Tuvens sees only its hash.
    expect(target.href).not.toContain(verifier);
  });

  it('refuses to start a sign-in for a malformed event id, with a 400 naming it', async () => {
    const refused = await stack.connector.request('GET', '/auth/cross-app/start?event_id=1%20or%201');
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('validation_failed');
    expect(JSON.stringify(refused.body)).toContain('event_id');
  });

  it('refuses an attacker’s bound link in a browser without its state cookie, and uses nothing', async () => {
    // The attacker starts a sign-in in their own browser and keeps the link it ends in.
    const own = await stack.startSignIn(attacker.eventId);
    const token = await stack.generateSessionTokenFor(own.codeChallenge, attacker.eventId, attacker.jwt);
    const link = { session_token: token, event_id: String(attacker.eventId), state: own.state };

    // The victim's browser: no state cookie at all, then one of a sign-in of its own.
    const noCookie = await post(link);
    expect(noCookie.status).toBe(403);
    expect(noCookie.body.error.code).toBe('link_other_browser');
    const victims = await stack.startSignIn(1);
    const otherCookie = await post(link, victims.cookie);
    expect(otherCookie.body.error.code).toBe('link_other_browser');
    // Without the state, the connector learns from tuvens-api that the session is bound, and refuses.
    const stateless = await post(
      { session_token: token, event_id: String(attacker.eventId) },
      victims.cookie,
    );
    expect(stateless.body.error.code).toBe('link_other_browser');
    for (const answer of [noCookie, otherCookie, stateless]) {
      expect(cookiesOf(answer.headers)).not.toHaveProperty('tuvens_connector_session');
      expect(cookiesOf(answer.headers)).not.toHaveProperty('token');
    }
    expect(await isUnused(token)).toBe(true);

    // In the browser that started it, the same link still signs in.
    const honest = await post(link, own.cookie);
    expect(honest.status).toBe(200);
    expect(cookiesOf(honest.headers)[CROSS_APP_STATE_COOKIE]?.value).toBe('');
  });

  it('refuses a state cookie whose verifier does not match the session, and uses nothing', async () => {
    const started = await stack.startSignIn(1);
    const otherStart = await stack.startSignIn(1);
    const token = await stack.generateSessionTokenFor(otherStart.codeChallenge, 1);
    const refused = await post({ session_token: token, event_id: '1', state: started.state }, started.cookie);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('link_other_browser');
    expect(await isUnused(token)).toBe(true);
  });

  it('stops an unbound link at a confirmation naming its user, account and event, using nothing', async () => {
    const token = await stack.generateUnboundSessionToken(attacker.eventId, attacker.jwt);
    const asked = await post({ session_token: token, event_id: String(attacker.eventId) });
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({
      confirmation_required: true,
      tuvens_user: { name: 'Mallory Other', email: 'mallory@elsewhere.test' },
      account: { name: 'Mallory Events' },
      event: { id: attacker.eventId, title: 'Mallory’s Gala' },
      replaces_other_sign_in: false,
    });
    expect(cookiesOf(asked.headers)).toEqual({});
    expect(await isUnused(token)).toBe(true);

    const confirmed = await post({
      session_token: token,
      event_id: String(attacker.eventId),
      confirmed: true,
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.hi_events_event_id).toEqual(expect.any(Number));
  });

  it('says so when confirming an unbound link would replace someone else’s sign-in in this browser', async () => {
    const victim = await stack.signIn(await stack.generateSessionToken(1));
    const session = cookiesOf(victim.headers).tuvens_connector_session!.value;
    const token = await stack.generateUnboundSessionToken(attacker.eventId, attacker.jwt);
    const asked = await post(
      { session_token: token, event_id: String(attacker.eventId) },
      `tuvens_connector_session=${session}`,
    );
    expect(asked.body).toMatchObject({ confirmation_required: true, replaces_other_sign_in: true });
    // The same person's own unbound link replaces nobody.
    const own = await stack.generateUnboundSessionToken(1);
    const ownAsked = await post({ session_token: own, event_id: '1' }, `tuvens_connector_session=${session}`);
    expect(ownAsked.body).toMatchObject({ confirmation_required: true, replaces_other_sign_in: false });
  });
});
