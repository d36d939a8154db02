import { CLIENT_ADDRESS_HEADER, WEB_SECRET_HEADER } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, startTestApi, type TestApi } from './helpers.ts';

const WEB_SECRET = 'dev-web-api-secret-0123456789abcdef012345';

/** Headers of a sign-in relayed by the web server for a browser at `address`. */
const fromBrowser = (address: string, secret = WEB_SECRET) => ({
  [CLIENT_ADDRESS_HEADER]: address,
  [WEB_SECRET_HEADER]: secret,
});

describe(`sign-in limits (${testDatabaseKind})`, () => {
  let api: TestApi;
  const signIn = (email: string, password: string, headers: Record<string, string> = {}) =>
    api.request('POST', '/api/auth/login', { body: { email, password }, headers });

  beforeAll(async () => {
    api = await startTestApi({
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '10', RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE: '20' },
    });
  });
  afterAll(() => api.close());

  it('ten wrong passwords from one browser do not refuse the right password from another', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await signIn('member@tuvens.test', 'guess', fromBrowser('198.51.100.1'))).status).toBe(401);
    }
    const eleventh = await signIn('member@tuvens.test', 'guess', fromBrowser('198.51.100.1'));
    expect(eleventh.status).toBe(429);
    expect(eleventh.body.error.code).toBe('rate_limited');

    const honest = await signIn('member@tuvens.test', DEMO_PASSWORD, fromBrowser('198.51.100.2'));
    expect(honest.status).toBe(200);
  });

  it('a forwarded address without the web server’s secret is not believed', async () => {
    const answers: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const headers = fromBrowser(`203.0.113.${attempt + 1}`, 'not-the-web-secret-0123456789abcdef');
      answers.push((await signIn('attendee@tuvens.test', 'guess', headers)).status);
    }
    // Every attempt counts against the one real peer address, rotation or not.
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(answers.slice(10)).toEqual([429, 429]);
  });

  it('guessing one account’s password from many addresses is limited per account', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const answer = await signIn(
        'organizer@tuvens.test',
        `guess-${attempt}`,
        fromBrowser(`10.0.0.${attempt}`),
      );
      expect(answer.status).toBe(401);
    }
    const next = await signIn('organizer@tuvens.test', DEMO_PASSWORD, fromBrowser('10.0.1.1'));
    expect(next.status).toBe(429);
    expect(next.body.error.message).toMatch(/this account/);
    // Other accounts are not held up by it.
    expect((await signIn('admin@tuvens.test', 'guess', fromBrowser('10.0.1.1'))).status).toBe(401);
  });

  it('audits a failed sign-in under the browser’s address, not the web server’s', async () => {
    await signIn('nobody@tuvens.test', 'guess', fromBrowser('192.0.2.77'));
    const row = await api.database.db
      .selectFrom('audit_log')
      .select(['ip'])
      .where('action', '=', 'auth.login')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(row.ip).toBe('192.0.2.77');
  });
});

describe(`sign-in limits behind a named proxy (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    // The proxy is this machine; it appends the address it saw to whatever the client sent.
    api = await startTestApi({ env: { RATE_LIMIT_LOGIN_PER_MINUTE: '10', TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(() => api.close());

  it('rotating the first X-Forwarded-For entry does not escape the limit', async () => {
    const answers: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const answer = await api.request('POST', '/api/auth/login', {
        body: { email: 'member@tuvens.test', password: 'guess' },
        headers: { 'x-forwarded-for': `203.0.113.${attempt + 1}, 198.51.100.9` },
      });
      answers.push(answer.status);
    }
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(answers.slice(10)).toEqual([429, 429]);
  });
});
