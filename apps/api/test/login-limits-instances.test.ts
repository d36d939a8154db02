import { CLIENT_ADDRESS_HEADER, WEB_SECRET_HEADER } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupPolicy, runCleanup } from '../src/operations/cleanup.ts';
import { DEMO_PASSWORD, startAnotherInstance, startTestApi, type TestApi } from './helpers.ts';

const WEB_SECRET = 'dev-web-api-secret-0123456789abcdef012345';
const LIMIT = 10;

/** Headers of a request relayed by the web server for a browser at `address`. */
const fromBrowser = (address: string) => ({
  [CLIENT_ADDRESS_HEADER]: address,
  [WEB_SECRET_HEADER]: WEB_SECRET,
});

describe(`sign-in limits shared by two API instances on one database (${testDatabaseKind})`, () => {
  let first: TestApi;
  let second: TestApi;
  // One clock for both instances, which the tests move past the end of a window.
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  const endTheWindow = () => {
    offsetMs += 61_000;
  };

  const signIn = (api: TestApi, email: string, password: string, address: string) =>
    api.request('POST', '/api/auth/login', { body: { email, password }, headers: fromBrowser(address) });
  /** The instances in turn, as a load balancer spreads requests. */
  const instance = (attempt: number) => (attempt % 2 === 0 ? first : second);

  beforeAll(async () => {
    const env = {
      RATE_LIMIT_LOGIN_PER_MINUTE: String(LIMIT),
      RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE: String(LIMIT),
    };
    first = await startTestApi({ env, clock });
    second = await startAnotherInstance(first, { env, clock });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('ten failed sign-ins to one account, spread over both instances, lock it on both until the window ends', async () => {
    for (let attempt = 0; attempt < LIMIT; attempt++) {
      const answer = await signIn(instance(attempt), 'organizer@tuvens.test', 'guess', `10.1.0.${attempt}`);
      expect(answer.status).toBe(401);
    }
    for (const api of [first, second]) {
      const locked = await signIn(api, 'organizer@tuvens.test', DEMO_PASSWORD, '10.1.1.1');
      expect(locked.status).toBe(429);
      expect(locked.body.error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringMatching(/this account/),
      });
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    // Every failure was audited, on whichever instance it happened.
    const failures = await first.database.db
      .selectFrom('audit_log')
      .select((select) => select.fn.countAll<number>().as('count'))
      .where('action', '=', 'auth.login')
      .where('outcome', '=', 'failure')
      .where('ip', 'like', '10.1.0.%')
      .executeTakeFirstOrThrow();
    expect(Number(failures.count)).toBe(LIMIT);

    endTheWindow();
    for (const api of [first, second]) {
      expect((await signIn(api, 'organizer@tuvens.test', DEMO_PASSWORD, '10.1.1.1')).status).toBe(200);
    }
  });

  it('ten sign-in attempts from one address, spread over both instances, refuse it on both until the window ends', async () => {
    for (let attempt = 0; attempt < LIMIT; attempt++) {
      // A different account each time, so that only the address's limit is reached.
      const answer = await signIn(instance(attempt), `nobody${attempt}@tuvens.test`, 'guess', '10.2.0.1');
      expect(answer.status).toBe(401);
    }
    for (const api of [first, second]) {
      const refused = await signIn(api, 'member@tuvens.test', DEMO_PASSWORD, '10.2.0.1');
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({
        code: 'rate_limited',
        message: expect.stringMatching(/this address/),
      });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another address is not held up by it, on either instance.
    expect((await signIn(second, 'member@tuvens.test', DEMO_PASSWORD, '10.2.0.2')).status).toBe(200);
    // The refusals were audited once, although both instances refused.
    const audited = await first.database.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('action', '=', 'http.rate_limited')
      .where('ip', '=', '10.2.0.1')
      .execute();
    expect(audited).toEqual([{ details: { method: 'POST', route: '/api/auth/login' } }]);

    endTheWindow();
    for (const api of [first, second]) {
      expect((await signIn(api, 'member@tuvens.test', DEMO_PASSWORD, '10.2.0.1')).status).toBe(200);
    }
  });

  it('attempts racing from one address on both instances at once get the limit and no more', async () => {
    const answers = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, attempt) =>
        signIn(instance(attempt), `racer${attempt}@tuvens.test`, 'guess', '10.5.0.1'),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(2 * LIMIT);
    const audited = await first.database.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'http.rate_limited')
      .where('ip', '=', '10.5.0.1')
      .execute();
    expect(audited).toHaveLength(1);
  });

  it('password changes from one address are limited across both instances', async () => {
    const token = await first.login('attendee@tuvens.test');
    const changePassword = (api: TestApi) =>
      api.request('POST', '/api/auth/password', {
        body: { current_password: 'not-the-password', new_password: 'a-new-long-password' },
        headers: { authorization: `Bearer ${token}`, ...fromBrowser('10.3.0.1') },
      });
    for (let attempt = 0; attempt < LIMIT; attempt++) {
      expect((await changePassword(instance(attempt))).status).toBe(401);
    }
    expect((await changePassword(first)).status).toBe(429);
    expect((await changePassword(second)).status).toBe(429);
  });

  it('the cleanup job deletes the counters whose window has ended, and keeps the running ones', async () => {
    endTheWindow();
    await signIn(first, 'organizer@tuvens.test', 'guess', '10.4.0.1');
    const counters = () =>
      first.database.db.selectFrom('rate_limit_counters').select(['kind', 'key']).orderBy('kind').execute();
    const before = await counters();
    expect(before).toEqual(
      expect.arrayContaining([
        { kind: 'login_address', key: '10.4.0.1' },
        { kind: 'login_account', key: 'organizer@tuvens.test' },
      ]),
    );

    const policy = cleanupPolicy({ auditLogRetentionDays: 0 });
    const running = await runCleanup(first.database.db, clock(), policy);
    expect(running.ran && running.countersDeleted).toBe(before.length - 2);
    expect(await counters()).toHaveLength(2);

    endTheWindow();
    const ended = await runCleanup(first.database.db, clock(), policy);
    expect(ended.ran && ended.countersDeleted).toBe(2);
    expect(await counters()).toEqual([]);
  });
});
