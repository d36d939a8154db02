import { randomBytes } from 'node:crypto';
import { signStatusWebhook, startTestApi, statusWebhook, type TestApi } from '@tuvens/api/testing';
import { cookiesOf, startTestStack, type TestStack } from '@tuvens/connector/testing';
import { STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { DEVELOPMENT_JWT_SECRET } from '@tuvens/hi-events-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTuvensEvent,
  type Exchange,
  exchange,
  findSecrets,
  generateSecrets,
  openSql,
  printSummary,
  requirePostgres,
} from './support/index.ts';

const LOGIN_LIMIT = 10;
const CROSS_APP_LIMIT = 30;
const WEBHOOK_LIMIT = 40;
const SIGN_IN_LIMIT = 15;
const HI_EVENTS_ORIGIN = 'https://tickets.example.test';
const WEB_ORIGIN = 'https://tuvens.example.test';

const COMMON_PASSWORDS = [
  '123456',
  'password',
  'qwerty',
  'tuvens',
  'letmein',
  'Passw0rd!',
  'admin',
  'welcome1',
];
const EMAILS = [
  'organizer@tuvens.test',
  'member@tuvens.test',
  'attendee@tuvens.test',
  'admin@tuvens.test',
  'ceo@example.com',
];

/** A token in the shape of a real one (32 random bytes, base64url), which no one issued. */
const guessedToken = () => randomBytes(32).toString('base64url');

interface AuditRow {
  action: string;
  outcome: string;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  details: unknown;
}

describe('authentication abuse', () => {
  const secrets = generateSecrets();
  const responses: Exchange[] = [];
  let api: TestApi;
  let stack: TestStack;
  let secretsToFind: Record<string, string>;
  let signedIn: { eventId: number; connectorCookie: string };

  const send = async (
    label: string,
    url: string,
    {
      method = 'GET',
      headers = {},
      body,
    }: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ) => {
    const result = await exchange(label, url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    responses.push(result);
    return result;
  };
  const audit = async (database: { url: string | undefined }, action: string) => {
    const sql = openSql(database.url!);
    try {
      return await sql.rows<AuditRow>(
        'select action, outcome, reason, ip, user_agent, details from audit_log where action = $1 order by id',
        [action],
      );
    } finally {
      await sql.close();
    }
  };
  const allAuditText = async (database: { url: string | undefined }) => {
    const sql = openSql(database.url!);
    try {
      return JSON.stringify(await sql.rows('select * from audit_log'));
    } finally {
      await sql.close();
    }
  };

  beforeAll(async () => {
    await requirePostgres();
    const secretEnv = {
      CROSS_APP_SHARED_SECRET: secrets.crossApp,
      HI_EVENTS_SHARED_SECRET: secrets.webhook,
      JWT_SECRET: secrets.jwt,
      HI_EVENTS_URL: HI_EVENTS_ORIGIN,
      WEB_URL: WEB_ORIGIN,
    };
    // tuvens-api with its real limits on authentication and webhooks, for the attacks on it.
    api = await startTestApi({
      env: {
        ...secretEnv,
        RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGIN_LIMIT),
        RATE_LIMIT_CROSS_APP_PER_MINUTE: String(CROSS_APP_LIMIT),
        RATE_LIMIT_WEBHOOK_PER_MINUTE: String(WEBHOOK_LIMIT),
      },
    });
    // A whole stack with the connector's sign-in limit, for guessing through the connector.
    stack = await startTestStack({
      api: await startTestApi({ env: secretEnv }),
      connector: {
        env: {
          CROSS_APP_SHARED_SECRET: secrets.crossApp,
          HI_EVENTS_SHARED_SECRET: secrets.webhook,
          RATE_LIMIT_SIGN_IN_PER_MINUTE: String(SIGN_IN_LIMIT),
        },
      },
    });
    // A sign-in from end to end before the guessing uses up the connector's limit, for the tour of answers.
    const eventId = await createTuvensEvent(stack.api.url, stack.organizer, { title: 'Secrets tour' });
    const answer = await stack.signIn(await stack.generateSessionToken(eventId), eventId);
    expect(answer.status).toBe(200);
    await stack.connector.connector.outbox.runOnce();
    signedIn = {
      eventId,
      connectorCookie: `tuvens_connector_session=${cookiesOf(answer.headers).tuvens_connector_session!.value}`,
    };

    const sql = openSql(api.database.url!);
    const hashes = await sql.rows<{ password_hash: string }>('select password_hash from users');
    await sql.close();
    secretsToFind = {
      CROSS_APP_SHARED_SECRET: secrets.crossApp,
      HI_EVENTS_SHARED_SECRET: secrets.webhook,
      JWT_SECRET: secrets.jwt,
      HI_EVENTS_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      ...Object.fromEntries(hashes.map((row, index) => [`password_hash_${index}`, row.password_hash])),
    };
  });

  afterAll(async () => {
    await stack?.close();
    await api?.close();
  });

  it('cuts credential stuffing off at the login limit, whatever address the client claims, and audits every attempt it answered without its password', async () => {
    const attempts = Array.from({ length: 40 }, (_, index) => ({
      email: EMAILS[index % EMAILS.length]!,
      password: `${COMMON_PASSWORDS[index % COMMON_PASSWORDS.length]}${index}`,
    }));
    // The last try has the right password: after the limit it must not get in either.
    attempts.push({ email: 'organizer@tuvens.test', password: 'tuvens-demo' });
    const statuses: number[] = [];
    for (const [index, attempt] of attempts.entries()) {
      const result = await send(`login ${index}`, `${api.url}/api/auth/login`, {
        method: 'POST',
        body: attempt,
        headers: { 'x-forwarded-for': `203.0.113.${index}`, 'user-agent': `stuffer/${index}` },
      });
      statuses.push(result.status);
    }
    const rows = await audit(api.database, 'auth.login');
    const auditText = await allAuditText(api.database);
    const leakedPasswords = attempts.filter((attempt) => auditText.includes(attempt.password)).length;
    printSummary('auth abuse: credential stuffing', {
      attempts: attempts.length,
      refused401: statuses.filter((status) => status === 401).length,
      rateLimited429: statuses.filter((status) => status === 429).length,
      succeeded: statuses.filter((status) => status === 200).length,
      audited: rows.length,
      auditedFromSpoofedAddress: rows.filter((row) => row.ip !== '127.0.0.1').length,
      passwordsInAuditLog: leakedPasswords,
    });
    expect(statuses).toEqual([
      ...Array(LOGIN_LIMIT).fill(401),
      ...Array(attempts.length - LOGIN_LIMIT).fill(429),
    ]);
    expect(rows).toHaveLength(LOGIN_LIMIT);
    for (const row of rows) {
      expect(row).toMatchObject({ outcome: 'failure', ip: '127.0.0.1' });
      expect(['wrong_password', 'unknown_email']).toContain(row.reason);
    }
    expect(leakedPasswords).toBe(0);
    const limited = responses.at(-1)!;
    expect(JSON.parse(limited.text).error.code).toBe('rate_limited');
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('cuts off guessing of session tokens, of the shared secret and of signatures, and audits every guess it answered without the guess', async () => {
    const guesses = 50;
    const attacks: {
      name: string;
      action: string;
      limit: number;
      /** Audit rows the refusals leave; one per refusal unless said. */
      audited?: number;
      code: string;
      make: () => {
        guess: string;
        path: string;
        method: string;
        headers: Record<string, string>;
        body?: unknown;
      };
    }[] = [
      {
        name: 'session tokens at validate-session',
        action: 'cross_app.session.validate',
        limit: CROSS_APP_LIMIT,
        code: 'session_unknown',
        make: () => {
          const token = guessedToken();
          return {
            guess: token,
            path: '/api/cross-app/validate-session',
            method: 'POST',
            headers: { 'x-shared-secret': secrets.crossApp },
            body: { session_token: token },
          };
        },
      },
      {
        name: 'the shared secret at user-accounts',
        action: 'cross_app.user_accounts',
        limit: CROSS_APP_LIMIT,
        // Refusals of callers who proved nothing are audited once a minute per reason and address.
        audited: 1,
        code: 'invalid_shared_secret',
        make: () => {
          const secret = `rel-cross-app-${randomBytes(24).toString('hex')}`;
          return {
            guess: secret,
            path: '/api/cross-app/user-accounts',
            method: 'GET',
            headers: { 'x-shared-secret': secret },
          };
        },
      },
      {
        name: 'session tokens at validate-permission',
        action: 'cross_app.permission',
        limit: CROSS_APP_LIMIT,
        code: 'session_unknown',
        make: () => {
          const token = guessedToken();
          return {
            guess: token,
            path: '/api/cross-app/validate-permission',
            method: 'POST',
            headers: { 'x-shared-secret': secrets.crossApp, 'x-session-token': token },
            body: { permission: 'event:manage_ticketing', resource: { type: 'event', id: 1 } },
          };
        },
      },
      {
        name: 'webhook signatures',
        action: 'hi_events.webhook.status_changed',
        limit: WEBHOOK_LIMIT,
        // Refusals of senders who proved nothing are audited once a minute per reason and address.
        audited: 1,
        code: 'invalid_signature',
        make: () => {
          const key = `guess-${randomBytes(16).toString('hex')}`;
          const rawBody = JSON.stringify(statusWebhook({ tuvens_event_id: 1, status: 'setup' }));
          const headers = signStatusWebhook(rawBody, { secret: key });
          return {
            guess: headers['webhook-signature']!.slice(3),
            path: STATUS_WEBHOOK_PATH,
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: rawBody,
          };
        },
      },
    ];
    for (const attack of attacks) {
      const tried: string[] = [];
      const statuses: number[] = [];
      const codes = new Set<string>();
      for (let index = 0; index < guesses; index++) {
        const { guess, path, method, headers, body } = attack.make();
        tried.push(guess);
        const result = await send(`${attack.name} ${index}`, `${api.url}${path}`, {
          method,
          headers: { ...headers, 'x-forwarded-for': `198.51.100.${index}` },
          body,
        });
        statuses.push(result.status);
        if (result.status === 401) codes.add(JSON.parse(result.text).error.code);
      }
      const rows = (await audit(api.database, attack.action)).filter((row) => row.outcome === 'failure');
      const auditText = await allAuditText(api.database);
      const guessesInAuditLog = tried.filter((guess) => auditText.includes(guess)).length;
      printSummary(`auth abuse: guessing ${attack.name}`, {
        guesses,
        refused401: statuses.filter((status) => status === 401).length,
        rateLimited429: statuses.filter((status) => status === 429).length,
        succeeded: statuses.filter((status) => status < 400).length,
        audited: rows.length,
        guessesInAuditLog,
      });
      expect(statuses, attack.name).toEqual([
        ...Array(attack.limit).fill(401),
        ...Array(guesses - attack.limit).fill(429),
      ]);
      expect([...codes], attack.name).toEqual([attack.code]);
      expect(rows, attack.name).toHaveLength(attack.audited ?? attack.limit);
      expect(
        rows.every((row) => row.ip === '127.0.0.1'),
        attack.name,
      ).toBe(true);
      expect(guessesInAuditLog, attack.name).toBe(0);
    }
  });

  it('cuts off guessing through the connector’s sign-in before it reaches tuvens-api, where each guess that got through is audited', async () => {
    const guesses = 40;
    // The real sign-in made before the attack came from the same address and counts against the limit.
    const left = SIGN_IN_LIMIT - 1;
    const statuses: number[] = [];
    const origin = new URL(stack.connector.url).origin;
    for (let index = 0; index < guesses; index++) {
      const result = await send(
        `connector sign-in ${index}`,
        `${stack.connector.url}/auth/cross-app/validate`,
        {
          method: 'POST',
          headers: { origin, 'x-forwarded-for': `192.0.2.${index}` },
          body: { session_token: guessedToken(), event_id: '1' },
        },
      );
      statuses.push(result.status);
    }
    // A link that no browser started here is looked up (describe-session), never consumed.
    const rows = (await audit(stack.api.database, 'cross_app.session.describe')).filter(
      (row) => row.outcome === 'failure',
    );
    printSummary('auth abuse: guessing through the connector', {
      guesses,
      refused401: statuses.filter((status) => status === 401).length,
      rateLimited429: statuses.filter((status) => status === 429).length,
      auditedByTuvensApi: rows.length,
    });
    expect(statuses).toEqual([...Array(left).fill(401), ...Array(guesses - left).fill(429)]);
    expect(rows).toHaveLength(left);
    expect(rows.every((row) => row.reason === 'unknown')).toBe(true);
  });

  it('allows cross-origin requests only from the configured origins, and the connector from none', async () => {
    const refusedOrigins = [
      'https://evil.example',
      'null',
      `${HI_EVENTS_ORIGIN}.evil.example`,
      `${HI_EVENTS_ORIGIN}:8443`,
      HI_EVENTS_ORIGIN.replace('https:', 'http:'),
      'https://sub.tickets.example.test',
      'https://tickets-example.test',
      'https://tickets.example.test.',
      `${WEB_ORIGIN}evil`,
      'https://example.test',
    ];
    const probes = [
      { method: 'OPTIONS', path: '/api/cross-app/validate-session', preflight: 'POST' },
      { method: 'OPTIONS', path: '/api/events/updates', preflight: 'GET' },
      { method: 'GET', path: '/api/events' },
      { method: 'GET', path: '/api/events/updates' },
      { method: 'POST', path: '/api/auth/login' },
      { method: 'GET', path: '/healthz' },
    ];
    const answer = (url: string, origin: string, probe: (typeof probes)[number]) =>
      send(`${probe.method} ${probe.path} from ${origin}`, `${url}${probe.path}`, {
        method: probe.method,
        headers: {
          origin,
          ...(probe.preflight && {
            'access-control-request-method': probe.preflight,
            'access-control-request-headers': 'content-type, authorization, x-shared-secret',
          }),
        },
        body: probe.method === 'POST' ? { email: 'a@b.test', password: 'x' } : undefined,
      });
    let allowed = 0;
    let refused = 0;
    for (const probe of probes) {
      for (const origin of [HI_EVENTS_ORIGIN, WEB_ORIGIN]) {
        const result = await answer(api.url, origin, probe);
        expect(result.headers['access-control-allow-origin'], result.label).toBe(origin);
        expect(result.headers['access-control-allow-credentials'], result.label).toBe('true');
        if (probe.preflight) {
          expect(
            String(result.headers['access-control-allow-methods']).split(/,\s*/).sort(),
            result.label,
          ).toEqual(['GET', 'POST']);
        }
        allowed++;
      }
      for (const origin of refusedOrigins) {
        const result = await answer(api.url, origin, probe);
        expect(result.headers['access-control-allow-origin'], result.label).toBeUndefined();
        refused++;
      }
    }
    const connectorOrigins = [
      ...refusedOrigins,
      HI_EVENTS_ORIGIN,
      WEB_ORIGIN,
      new URL(stack.connector.url).origin,
    ];
    for (const origin of connectorOrigins) {
      for (const path of ['/auth/cross-app/validate', '/auth/session', '/ops/outbox', '/healthz']) {
        for (const method of ['OPTIONS', 'GET', 'POST']) {
          const result = await send(
            `connector ${method} ${path} from ${origin}`,
            `${stack.connector.url}${path}`,
            {
              method,
              headers: { origin, 'access-control-request-method': 'POST' },
            },
          );
          expect(result.headers['access-control-allow-origin'], result.label).toBeUndefined();
          expect(result.headers['access-control-allow-credentials'], result.label).toBeUndefined();
          refused++;
        }
      }
    }
    printSummary('auth abuse: CORS', {
      allowedRequests: allowed,
      refusedRequests: refused,
      wildcardAnswers: 0,
    });
  });

  it('never puts a secret in any answer, on any route, with any credentials', async () => {
    const { eventId, connectorCookie } = signedIn;
    const organizer = stack.organizer;
    const session = await send('generate-session', `${stack.api.url}/api/cross-app/generate-session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${organizer}` },
      body: { eventId, appId: 'hi-events' },
    });
    const sessionToken = JSON.parse(session.text).session_token as string;
    const member = await stack.api.login('member@tuvens.test');

    const api = stack.api.url;
    const connector = stack.connector.url;
    const secretHeader = { 'x-shared-secret': secrets.crossApp };
    const opsHeader = { authorization: `Bearer ${stack.connector.config.opsTokens[0]}` };
    const tour: [string, string, Record<string, string>, unknown?][] = [
      ['GET', `${api}/healthz`, {}],
      ['GET', `${api}/readyz`, {}],
      ['GET', `${api}/docs/json`, {}],
      ['GET', `${api}/docs/yaml`, {}],
      ['GET', `${api}/api/auth/me`, { authorization: `Bearer ${organizer}` }],
      ['GET', `${api}/api/events`, { authorization: `Bearer ${organizer}` }],
      ['GET', `${api}/api/events/${eventId}`, { authorization: `Bearer ${member}` }],
      ['POST', `${api}/api/cross-app/validate-session`, secretHeader, { session_token: sessionToken }],
      ['GET', `${api}/api/cross-app/user-accounts`, { ...secretHeader, 'x-session-token': sessionToken }],
      [
        'POST',
        `${api}/api/cross-app/validate-permission`,
        { ...secretHeader, 'x-session-token': sessionToken },
        { permission: 'event:manage_ticketing', resource: { type: 'event', id: eventId } },
      ],
      ['POST', `${api}/api/cross-app/validate-session`, secretHeader, { session_token: sessionToken }],
      [
        'POST',
        `${api}/api/cross-app/validate-session`,
        { 'x-shared-secret': 'wrong' },
        { session_token: sessionToken },
      ],
      ['GET', `${connector}/healthz`, {}],
      ['GET', `${connector}/readyz`, {}],
      ['GET', `${connector}/metrics`, {}],
      ['GET', `${connector}/auth/cross-app`, {}],
      ['GET', `${connector}/auth/session`, { cookie: connectorCookie }],
      ['GET', `${connector}/ops/outbox?status=delivered`, opsHeader],
      ['GET', `${connector}/ops/outbox?status=pending`, opsHeader],
      ['GET', `${connector}/ops/outbox?status=dead`, opsHeader],
      ['GET', `${connector}/ops/outbox`, secretHeader],
    ];
    for (const [method, url, headers, body] of tour)
      await send(`${method} ${url}`, url, { method, headers, body });

    const webhookSecrets = [...stack.emulator.store.webhooks.values()].map((webhook) => webhook.secret);
    const apiSql = openSql(stack.api.database.url!);
    const stackHashes = await apiSql.rows<{ hash: string }>(
      `select password_hash as hash from users union all select "sessionTokenHash" from "crossAppSession"`,
    );
    await apiSql.close();
    const lookFor = {
      ...secretsToFind,
      ...Object.fromEntries(webhookSecrets.map((secret, index) => [`event_webhook_secret_${index}`, secret])),
      ...Object.fromEntries(stackHashes.map((row, index) => [`stored_hash_${index}`, row.hash])),
    };
    const leaks = responses
      .map((response) => ({
        label: response.label,
        found: findSecrets(`${JSON.stringify(response.headers)}\n${response.text}`, lookFor),
      }))
      .filter((leak) => leak.found.length > 0);
    printSummary('auth abuse: secrets in answers', {
      answersChecked: responses.length,
      secretsLookedFor: Object.keys(lookFor).length,
      answersWithASecret: leaks.length,
    });
    expect(leaks).toEqual([]);
    expect(webhookSecrets.length).toBeGreaterThan(0);
  });
});
