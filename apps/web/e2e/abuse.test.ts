import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { enableTicketing, sendStatusWebhook, statusWebhook } from '@tuvens/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, type Stack, startStack, WEB_DIR } from './stack.ts';

/** The web server's secret towards tuvens-api, its own, so that the web server runs as in production. */
const WEB_API_SECRET = 'e2e-web-api-secret-0123456789abcdefghijklmn';

/**
 * Attacks on the web server itself, each reproduced over HTTP against the built app. The web server
 * reads the browser's address from `X-Forwarded-For` here (adapter-node's `ADDRESS_HEADER`), as
 * behind a proxy, so that one test can speak from several addresses.
 */
describe('the web server under attack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      browser: false,
      apiEnv: { RATE_LIMIT_LOGIN_PER_MINUTE: '10', WEB_API_SECRET },
      webEnv: {
        NODE_ENV: 'production',
        WEB_API_SECRET,
        ADDRESS_HEADER: 'x-forwarded-for',
        XFF_DEPTH: '1',
        RELAY_MAX_STREAMS: '4',
        RELAY_MAX_STREAMS_PER_CLIENT: '2',
      },
    });
  });
  afterAll(async () => {
    for (const controller of streams) controller.abort();
    await stack?.close();
  });

  const streams: AbortController[] = [];
  /** Opens the relayed updates stream from an address; answers its status and, for a refusal, its body. */
  async function openRelayedStream(address: string) {
    const controller = new AbortController();
    const response = await fetch(`${stack.web.url}/api/events/updates`, {
      headers: { accept: 'text/event-stream', 'x-forwarded-for': address },
      signal: controller.signal,
    });
    streams.push(controller);
    // biome-ignore lint/suspicious/noExplicitAny: the one error shape, read loosely
    const body: any = response.status === 200 ? undefined : await response.json();
    return { status: response.status, body, close: () => controller.abort() };
  }

  const signIn = (address: string, email: string, password: string) =>
    fetch(`${stack.web.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        origin: stack.web.url,
        'x-forwarded-for': address,
      },
      body: new URLSearchParams({ email, password }),
    });

  it('ten wrong passwords from one address do not lock the right password out from another', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await signIn('198.51.100.10', DEMO.member, 'guess')).status).toBe(400);
    }
    expect((await signIn('198.51.100.10', DEMO.member, 'guess')).status).toBe(429);

    const honest = await signIn('198.51.100.20', DEMO.member, DEMO.password);
    expect(honest.status).toBe(303);
    expect(honest.headers.get('set-cookie')).toMatch(/tuvens_session=/);
  });

  it('the relay caps streams per address and in all, and a closed one frees its place', async () => {
    const first = await openRelayedStream('192.0.2.1');
    expect(first.status).toBe(200);
    expect((await openRelayedStream('192.0.2.1')).status).toBe(200);
    const third = await openRelayedStream('192.0.2.1');
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('rate_limited');

    expect((await openRelayedStream('192.0.2.2')).status).toBe(200);
    expect((await openRelayedStream('192.0.2.3')).status).toBe(200);
    const overTotal = await openRelayedStream('192.0.2.4');
    expect(overTotal.status).toBe(503);
    expect(overTotal.body.error.code).toBe('service_unavailable');

    first.close();
    await expect.poll(async () => (await openRelayedStream('192.0.2.4')).status).toBe(200);
  });

  it('signing out ends the token at tuvens-api, not only the cookie', async () => {
    const signedIn = await signIn('198.51.100.30', DEMO.attendee, DEMO.password);
    const cookie = /tuvens_session=([^;]+)/.exec(signedIn.headers.get('set-cookie') ?? '')![1]!;
    const me = () =>
      stack.api.request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${cookie}` } });
    expect((await me()).status).toBe(200);

    const out = await fetch(`${stack.web.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: stack.web.url, cookie: `tuvens_session=${cookie}` },
    });
    expect(out.status).toBe(303);
    expect((await me()).status).toBe(401);
  });

  it('sends Strict-Transport-Security in production, and lists no demo logins unless told to', async () => {
    const page = await fetch(`${stack.web.url}/login`);
    expect(page.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const html = await page.text();
    expect(html).not.toContain(DEMO.organizer);
    expect(html).not.toContain(DEMO.password);
  });

  it('refuses to start in production on the published development secret', () => {
    const started = spawnSync(process.execPath, [join(WEB_DIR, 'build/index.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        WEB_API_SECRET: 'dev-web-api-secret-0123456789abcdef012345',
        HOST: '127.0.0.1',
        PORT: '0',
      },
      timeout: 20_000,
      encoding: 'utf8',
    });
    expect(started.status).not.toBe(0);
    expect(started.stderr).toContain('WEB_API_SECRET is the published development value');
  });

  it('a crafted redirectTo after signing in lands on this site, never a 500', async () => {
    const signedIn = await fetch(
      `${stack.web.url}/login?redirectTo=${encodeURIComponent('/..//evil.example')}`,
      {
        method: 'POST',
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          origin: stack.web.url,
          'x-forwarded-for': '198.51.100.40',
        },
        body: new URLSearchParams({ email: DEMO.organizer, password: DEMO.password }),
      },
    );
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/');
    const cookie = /tuvens_session=[^;]+/.exec(signedIn.headers.get('set-cookie') ?? '')![0];
    const again = await fetch(
      `${stack.web.url}/login?redirectTo=${encodeURIComponent('/..//evil.example')}`,
      {
        redirect: 'manual',
        headers: { cookie },
      },
    );
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/');
  });

  it('an organizer turns ticketing off from the event page, without JavaScript', async () => {
    await enableTicketing(stack.api.database.db, 2);
    const linked = await sendStatusWebhook(stack.api, statusWebhook({ tuvens_event_id: 2, status: 'setup' }));
    expect(linked.body).toMatchObject({ applied: true });
    const signedIn = await signIn('198.51.100.50', DEMO.organizer, DEMO.password);
    const cookie = /tuvens_session=[^;]+/.exec(signedIn.headers.get('set-cookie') ?? '')![0];
    const page = await (await fetch(`${stack.web.url}/event/2`, { headers: { cookie } })).text();
    expect(page).toContain('Turn ticketing off');

    const off = await fetch(`${stack.web.url}/event/2?/turnOffTicketing`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        origin: stack.web.url,
        cookie,
      },
      body: '',
    });
    expect(off.status).toBe(200);
    expect((await stack.api.request('GET', '/api/events/2')).body.ticketing_status).toBe('none');
  });
});
