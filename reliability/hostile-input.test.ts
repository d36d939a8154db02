import { signStatusWebhook, startTestApi } from '@tuvens/api/testing';
import { cookiesOf, startTestStack, type TestStack } from '@tuvens/connector/testing';
import { STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { signHiEventsSignature, signSeedSignature } from '@tuvens/contracts/signatures';
import { DEVELOPMENT_JWT_SECRET } from '@tuvens/hi-events-emulator';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTuvensEvent,
  type Exchange,
  exchange,
  findSecrets,
  generateSecrets,
  type Handshake,
  openSql,
  printSummary,
  requirePostgres,
  sendRawBytes,
  setHiEventsStatus,
  snapshotDatabase,
} from './support/index.ts';

interface Route {
  method: 'GET' | 'POST';
  /** As Fastify knows it: `:name` parameters, `*` wildcards. */
  path: string;
}

/** The GET and POST routes of a Fastify app, read from its own route table. */
function listRoutes(app: { printRoutes(options: { commonPrefix: false }): string }): Route[] {
  const routes: Route[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    prefixes.push(match[2]!);
    const path = prefixes.join('');
    for (const method of match[3]!.split(', ')) {
      if (method === 'GET' || method === 'POST') routes.push({ method, path });
    }
  }
  return routes;
}

/** Percent-encodes the UTF-8 bytes of any string, lone surrogates included (as U+FFFD). */
const encodeSegment = (segment: string) =>
  [...Buffer.from(segment, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');

/** A concrete path of a route, its parameters filled with what the test gives. */
const fillPath = (route: Route, segment: string) =>
  route.path.replace(/:[a-z_]+/g, encodeSegment(segment)).replace('*', encodeSegment(segment));

const SQL_LIKE = [
  "' OR '1'='1",
  '1; DROP TABLE users; --',
  "'; SELECT pg_sleep(5); --",
  '1 UNION SELECT password_hash FROM users',
  '$1',
  "%' OR 1=1 --",
  '\\x27',
];
const UNICODE_EDGES = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e\u200b\u200d',
  'e\u0301'.repeat(500),
  '👩‍👩‍👧‍👦'.repeat(50),
  '\uffff\ufffe',
  '𝕋𝕦𝕧𝕖𝕟𝕤',
  'İı',
];

/** tuvens-api's tables that record attempts rather than data; hostile requests may add to them. */
const API_RECORDS_OF_ATTEMPTS = ['audit_log', 'rate_limit_counters'];

const latin1Header = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((code) => code !== 0x7f)
    .map((code) => String.fromCharCode(code)),
  maxLength: 120,
});
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(...SQL_LIKE, ...UNICODE_EDGES),
  fc.string({ maxLength: 20 }).map((text) => text.repeat(500)),
);
const hostileValue = fc.oneof(
  hostileText,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, -0, 2 ** 31, 2 ** 53 + 1, 1e308),
  fc.jsonValue({ maxDepth: 3 }),
);
const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => open.repeat(depth) + (open === '[' ? ']'.repeat(depth) : `1${'}'.repeat(depth)}`));
/** Bodies a broken or hostile client might send: JSON of any shape, near-misses of ours, and not JSON at all. */
const hostileBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .record(
      {
        email: hostileValue,
        password: hostileValue,
        eventId: hostileValue,
        appId: fc.oneof(fc.constant('hi-events'), hostileValue),
        session_token: hostileValue,
        event_id: hostileValue,
        permission: fc.oneof(
          fc.constantFrom('event:view', 'event:manage_ticketing', 'account:manage'),
          hostileValue,
        ),
        resource: fc.oneof(
          fc.record({ type: fc.constantFrom('event', 'account'), id: hostileValue }),
          hostileValue,
        ),
        title: hostileValue,
        starts_at: hostileValue,
        ends_at: hostileValue,
        visibility: hostileValue,
        id: hostileValue,
        type: hostileValue,
        occurred_at: hostileValue,
        data: fc.record(
          { tuvens_event_id: hostileValue, status: hostileValue, hi_events_event_id: hostileValue },
          { requiredKeys: [] },
        ),
        event_type: hostileValue,
        event_sent_at: hostileValue,
        payload: hostileValue,
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  deepNesting,
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json().map((json) => `\ufeff${json}`),
  fc.constant(''),
);

describe('hostile input against every public route of tuvens-api and the connector', () => {
  const secrets = generateSecrets();
  let stack: TestStack;
  const exchanges: Exchange[] = [];
  let before: { api: Record<string, string>; connector: Record<string, string> };
  let apiRoutes: Route[];
  let connectorRoutes: Route[];
  let linked: Handshake;
  let forgedTokens: Record<string, string>;
  let secretsToFind: Record<string, string>;
  let capturedStatusWebhook: { body: string };
  let capturedHiEventsWebhook: { body: string; signature: string; hiEventsEventId: number };

  const record = (result: Exchange) => {
    exchanges.push(result);
    return result;
  };
  const deliverAll = async () => {
    while ((await stack.connector.connector.outbox.runOnce()) > 0);
  };

  beforeAll(async () => {
    await requirePostgres();
    const api = await startTestApi({
      env: {
        CROSS_APP_SHARED_SECRET: secrets.crossApp,
        HI_EVENTS_SHARED_SECRET: secrets.webhook,
        JWT_SECRET: secrets.jwt,
      },
    });
    stack = await startTestStack({
      api,
      connector: {
        env: { CROSS_APP_SHARED_SECRET: secrets.crossApp, HI_EVENTS_SHARED_SECRET: secrets.webhook },
      },
    });
    apiRoutes = listRoutes(stack.api.app);
    connectorRoutes = listRoutes(stack.connector.connector.app);

    // Data worth protecting: a linked event gone live, another event, a private one.
    const eventId = await createTuvensEvent(stack.api.url, stack.organizer, { title: 'Hostile input' });
    await createTuvensEvent(stack.api.url, stack.organizer, { title: 'Hostile input (unlinked)' });
    await createTuvensEvent(stack.api.url, stack.organizer, {
      title: 'Hostile input (private)',
      visibility: 'private',
    });
    const signedIn = await stack.signIn(await stack.generateSessionToken(eventId), eventId);
    expect(signedIn.status).toBe(200);
    linked = {
      tuvensEventId: eventId,
      hiEventsEventId: signedIn.body.hi_events_event_id,
      hiEventsToken: cookiesOf(signedIn.headers).token!.value,
      tries: 1,
    };
    await deliverAll();
    await setHiEventsStatus(stack.emulator.url, linked, 'LIVE');
    await stack.emulator.webhooks.idle();
    await deliverAll();

    const connectorSql = openSql(stack.connector.database.url!);
    const [delivered] = await connectorSql.rows<{ body: string }>(
      `select body from status_outbox where status = 'delivered' and webhook_path is null order by id desc limit 1`,
    );
    await connectorSql.close();
    capturedStatusWebhook = { body: delivered!.body };
    const lastHiEventsWebhook = stack.emulator.webhooks.deliveries.at(-1)!;
    const webhookSecret = stack.emulator.store.webhooks.get(lastHiEventsWebhook.webhookId)!.secret;
    capturedHiEventsWebhook = {
      body: lastHiEventsWebhook.body,
      signature: signHiEventsSignature(lastHiEventsWebhook.body, webhookSecret),
      hiEventsEventId: linked.hiEventsEventId,
    };

    const apiSql = openSql(stack.api.database.url!);
    const hashes = await apiSql.rows<{ password_hash: string }>('select password_hash from users');
    await apiSql.close();
    secretsToFind = {
      CROSS_APP_SHARED_SECRET: secrets.crossApp,
      HI_EVENTS_SHARED_SECRET: secrets.webhook,
      JWT_SECRET: secrets.jwt,
      HI_EVENTS_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      event_webhook_secret: webhookSecret,
      ...Object.fromEntries(hashes.map((row, index) => [`password_hash_${index}`, row.password_hash])),
    };

    const claims = { sub: '1', iss: 'tuvens-api', aud: 'tuvens' };
    const unsigned = (header: object, payload: object, signature = '') =>
      `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
    const future = Math.floor(Date.now() / 1000) + 3600;
    const sign = (key: string, payload: object = { ...claims, exp: future }, alg = 'HS256') =>
      new SignJWT({ ...payload }).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(key));
    const real = await stack.api.login('organizer@tuvens.test');
    const [realHeader, , realSignature] = real.split('.');
    forgedTokens = {
      'alg none': unsigned({ alg: 'none', typ: 'JWT' }, { ...claims, exp: future }),
      'alg None with a signature': unsigned(
        { alg: 'None', typ: 'JWT' },
        { ...claims, exp: future },
        'c2lnbmF0dXJl',
      ),
      'alg NONE': unsigned({ alg: 'NONE' }, { ...claims, exp: future }),
      'another key': await sign('not-the-jwt-secret-of-tuvens-api-0123456789'),
      'the cross-app secret as key': await sign(secrets.crossApp),
      'the webhook secret as key': await sign(secrets.webhook),
      'HS512 with another key': await sign('not-the-jwt-secret-of-tuvens-api-0123456789', undefined, 'HS512'),
      'RS256 header, HMAC signature': unsigned(
        { alg: 'RS256', typ: 'JWT' },
        { ...claims, exp: future },
        realSignature,
      ),
      'payload swapped under a real signature': `${realHeader}.${Buffer.from(JSON.stringify({ ...claims, sub: '2', exp: future })).toString('base64url')}.${realSignature}`,
      'expired, with the real key': await sign(secrets.jwt, {
        ...claims,
        exp: Math.floor(Date.now() / 1000) - 60,
      }),
      'another audience, with the real key': await sign(secrets.jwt, {
        ...claims,
        aud: 'hi-events',
        exp: future,
      }),
      'another issuer, with the real key': await sign(secrets.jwt, { ...claims, iss: 'evil', exp: future }),
      'kid pointing at a file': unsigned(
        { alg: 'HS256', kid: '../../../../dev/null' },
        { ...claims, exp: future },
        realSignature,
      ),
      'jku pointing elsewhere': unsigned(
        { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks.json' },
        { ...claims, exp: future },
        'x',
      ),
      'not a JWT': "' OR 1=1 --",
      empty: '',
    };

    before = {
      api: await snapshotDatabase(stack.api.database.url!, { except: API_RECORDS_OF_ATTEMPTS }),
      connector: await snapshotDatabase(stack.connector.database.url!),
    };
  });

  afterAll(async () => {
    await stack?.close();
  });

  const servers = () => [
    { name: 'tuvens-api', url: stack.api.url, routes: apiRoutes },
    { name: 'connector', url: stack.connector.url, routes: connectorRoutes },
  ];

  /** Refusals that Fastify answers itself, in its own shape, before our error handler sees them. */
  const frameworkShaped: string[] = [];

  /** The request's answer is not a server error, and a refusal has the one error shape. */
  const expectHandled = (result: Exchange) => {
    expect(result.status, `${result.label}: ${result.text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
    expect(result.status, `${result.label}: ${result.text.slice(0, 300)}`).toBeLessThan(500);
    if (result.status >= 400 && String(result.headers['content-type']).startsWith('application/json')) {
      const body = JSON.parse(result.text);
      // An over-long path parameter (414) or oversized headers (431): shown by their own test below.
      if (typeof body.error === 'string' && (result.status === 414 || result.status === 431)) {
        frameworkShaped.push(`${result.status} ${result.label}`);
        return;
      }
      expect(body.error, result.label).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
  };

  it('knows every public route of both services', () => {
    const paths = (routes: Route[]) => routes.map((route) => `${route.method} ${route.path}`);
    expect(paths(apiRoutes)).toEqual(
      expect.arrayContaining([
        'POST /api/auth/login',
        'GET /api/auth/me',
        'GET /api/events',
        'POST /api/events',
        'GET /api/events/updates',
        'GET /api/events/:id',
        'POST /api/events/:id/ticketing/cancel',
        'POST /api/cross-app/generate-session',
        'POST /api/cross-app/validate-session',
        'POST /api/cross-app/describe-session',
        'GET /api/cross-app/user-accounts',
        'POST /api/cross-app/validate-permission',
        `POST ${STATUS_WEBHOOK_PATH}`,
        'GET /healthz',
        'GET /readyz',
      ]),
    );
    expect(paths(connectorRoutes)).toEqual(
      expect.arrayContaining([
        'GET /auth/cross-app',
        'GET /auth/cross-app/start',
        'POST /auth/cross-app/validate',
        'GET /auth/session',
        'POST /auth/sign-out',
        'POST /webhooks/hi-events/:hi_events_event_id',
        'GET /ops/outbox',
        'POST /ops/outbox/:id/retry',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ]),
    );
  });

  it('answers random requests to every route with a 2xx or 4xx, never a 5xx (fast-check)', async () => {
    for (const server of servers()) {
      const origin = new URL(stack.connector.url).origin;
      const headers = fc.record(
        {
          'content-type': fc.constantFrom(
            'application/json',
            'application/json; charset=utf-16',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/json, text/plain',
            '*/*',
          ),
          authorization: fc.oneof(
            latin1Header,
            fc.constantFrom(...Object.values(forgedTokens)).map((token) => `Bearer ${token}`),
            latin1Header.map((value) => `Bearer ${value}`),
          ),
          'x-shared-secret': fc.oneof(latin1Header, fc.constant(secrets.crossApp)),
          'x-session-token': latin1Header,
          cookie: fc.oneof(
            latin1Header,
            latin1Header.map((value) => `tuvens_connector_session=${encodeURIComponent(value)}`),
            fc.constantFrom(...Object.values(forgedTokens)).map((token) => `token=${token}`),
          ),
          origin: fc.oneof(fc.constant(origin), latin1Header, fc.constant('null')),
          'last-event-id': fc.oneof(
            fc.nat().map(String),
            fc.nat().map((n) => `p${n}`),
            latin1Header,
          ),
          'webhook-id': latin1Header,
          'webhook-timestamp': fc.oneof(fc.nat().map(String), latin1Header),
          'webhook-signature': latin1Header.map((value) => `v1,${value}`),
          'x-hi-events-signature': latin1Header.map((value) => `sha256=${value}`),
          signature: latin1Header,
          'x-request-id': latin1Header,
          'user-agent': latin1Header,
          'x-forwarded-for': latin1Header,
        },
        { requiredKeys: [] },
      );
      const segment = fc.oneof(
        fc.nat().map(String),
        fc.constantFrom(
          '-1',
          '0',
          '1.5',
          '3000000000',
          '9007199254740993',
          '99999999999999999999',
          '1e3',
          '0x10',
          '../../etc/passwd',
          '%00',
          ' 1',
        ),
        hostileText,
      );
      const query = fc.oneof(
        fc.constant(''),
        fc
          .dictionary(
            fc.constantFrom('eventIds', 'lastEventId', 'status', 'limit', 'x', '__proto__'),
            fc.oneof(hostileText, fc.nat().map(String), fc.constant('1,2,3')),
            { maxKeys: 3 },
          )
          .map((params) => `?${new URLSearchParams(params).toString()}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...server.routes),
          segment,
          query,
          headers,
          hostileBody,
          async (route, pathSegment, search, requestHeaders, body) => {
            const path = `${fillPath(route, pathSegment)}${search}`;
            const result = record(
              await exchange(`${server.name} ${route.method} ${path.slice(0, 80)}`, `${server.url}${path}`, {
                method: route.method,
                headers: requestHeaders,
                body: route.method === 'POST' ? body : undefined,
              }),
            );
            expectHandled(result);
          },
        ),
        { numRuns: 300 },
      );
    }
  });

  it('answers a replay corpus of malformed, oversized, deep, mistyped, Unicode and SQL-like requests on every route without a 5xx', async () => {
    const allFields = (value: unknown) =>
      JSON.stringify(
        Object.fromEntries(
          [
            'email',
            'password',
            'eventId',
            'appId',
            'session_token',
            'event_id',
            'permission',
            'title',
            'starts_at',
            'id',
          ].map((field) => [field, value]),
        ),
      );
    const corpus: {
      name: string;
      body?: string | Buffer;
      headers?: Record<string, string>;
      segment?: string;
      query?: string;
    }[] = [
      { name: 'truncated JSON', body: '{"email":' },
      { name: 'single-quoted JSON', body: "{'email': 'a@b.c'}" },
      { name: 'trailing commas', body: '{"eventId": 1,}' },
      { name: 'NaN and undefined', body: '{"eventId": NaN, "appId": undefined}' },
      {
        name: 'a byte-order mark before JSON',
        body: '\ufeff{"email":"organizer@tuvens.test","password":"x"}',
      },
      { name: 'duplicate keys', body: '{"eventId":1,"eventId":"1; DROP TABLE events"}' },
      {
        name: 'prototype pollution',
        body: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}}}',
      },
      { name: 'arrays nested 30 000 deep', body: `${'['.repeat(30_000)}${']'.repeat(30_000)}` },
      {
        name: 'objects nested 10 000 deep in a known field',
        body: `{"resource":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      },
      { name: 'a body of 1 MiB', body: JSON.stringify({ title: 'x'.repeat(1024 * 1024) }) },
      { name: 'a body of 16 MiB', body: Buffer.alloc(16 * 1024 * 1024, 'a') },
      {
        name: 'numbers past every limit',
        body: '{"eventId":1e309,"id":-0,"event_id":9007199254740993,"resource":{"type":"event","id":2147483648}}',
      },
      {
        name: 'wrong types everywhere',
        body: '{"eventId":[1],"appId":{"$ne":null},"email":true,"password":123,"session_token":null,"permission":[],"resource":"event"}',
      },
      ...SQL_LIKE.map((value) => ({ name: `SQL-like ${value}`, body: allFields(value), segment: value })),
      ...UNICODE_EDGES.map((value, index) => ({
        name: `Unicode edge ${index}`,
        body: allFields(value),
        segment: value,
      })),
      { name: 'a 60 KB string in every field', body: allFields('é'.repeat(15_000)) },
      {
        name: 'invalid UTF-8 bytes',
        body: Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]),
      },
      { name: 'JSON sent as text/plain', body: '{"eventId":1}', headers: { 'content-type': 'text/plain' } },
      {
        name: 'a form sent as JSON',
        body: 'email=a%40b.c&password=x',
        headers: { 'content-type': 'application/json' },
      },
      {
        name: 'JSON declared UTF-16',
        body: '{"eventId":1}',
        headers: { 'content-type': 'application/json; charset=utf-16' },
      },
      {
        name: 'multipart garbage',
        body: '--x\r\nContent-Disposition: form-data\r\n\r\n',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
      },
      { name: 'an empty JSON body', body: '', headers: { 'content-type': 'application/json' } },
      {
        name: 'CRLF encoded in the path and query',
        segment: '1\r\nX-Injected: 1',
        query: '?eventIds=1%0d%0aX-Injected:%201',
      },
      {
        name: 'hostile Last-Event-ID',
        headers: { 'last-event-id': '-1 OR 1=1' },
        query: '?lastEventId=99999999999999999999',
      },
      {
        name: 'an event filter of 10 000 ids',
        query: `?eventIds=${Array.from({ length: 10_000 }, (_, index) => index + 1).join(',')}`,
      },
      {
        name: 'a 1 KB x-request-id of every byte',
        headers: {
          'x-request-id': Array.from({ length: 1024 }, (_, index) =>
            String.fromCharCode(0x20 + (index % 0x5f)),
          ).join(''),
        },
      },
      {
        name: 'an array of shared secrets',
        headers: { 'x-shared-secret': `${secrets.crossApp}, ${secrets.crossApp}` },
      },
    ];
    let sent = 0;
    for (const server of servers()) {
      for (const route of server.routes) {
        for (const entry of corpus) {
          const path = `${fillPath(route, entry.segment ?? '1')}${entry.query ?? ''}`;
          const result = record(
            await exchange(
              `${server.name} ${route.method} ${route.path} [${entry.name}]`,
              `${server.url}${path}`,
              {
                method: route.method,
                headers: { 'content-type': 'application/json', ...entry.headers },
                body: route.method === 'POST' ? entry.body : undefined,
              },
            ),
          );
          sent++;
          // An oversized upload may be answered 413 and then cut off; it is never served.
          if (result.status === 0 && entry.name.startsWith('a body of')) continue;
          expectHandled(result);
          for (const value of Object.values(result.headers).flat()) {
            expect(String(value), result.label).not.toMatch(/[\r\n]/);
          }
          expect(Object.keys(result.headers), result.label).not.toContain('x-injected');
        }
      }
    }
    printSummary('hostile input: replay corpus', { cases: corpus.length, requests: sent });
  });

  it('answers malformed HTTP on a raw socket with a 4xx or by closing, and keeps serving', async () => {
    const requests = [
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Injected: a\rb\r\n\r\n',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET /\r\n\r\n',
      'FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://evil.example/healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n',
      'GET /api/events/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
      '\r\n\r\n\r\n',
    ];
    const statuses: number[] = [];
    const served: string[] = [];
    for (const server of servers()) {
      for (const bytes of requests) {
        const { status, statusLine } = await sendRawBytes(server.url, Buffer.from(bytes, 'latin1'));
        statuses.push(status);
        if (status >= 200 && status < 300)
          served.push(`${server.name}: ${JSON.stringify(bytes.slice(0, 50))}`);
        expect(status, `${server.name}: ${JSON.stringify(bytes.slice(0, 60))} → ${statusLine}`).toBeLessThan(
          500,
        );
      }
      const health = await exchange(`${server.name} /healthz after malformed HTTP`, `${server.url}/healthz`);
      expect(health.status).toBe(200);
    }
    printSummary('hostile input: raw HTTP', {
      requests: statuses.length,
      answered4xx: statuses.filter((status) => status >= 400).length,
      answered2xx: statuses.filter((status) => status >= 200 && status < 300).length,
      closedWithoutAnswer: statuses.filter((status) => status === 0).length,
      served,
    });
  });

  it('applies nothing from replayed or re-signed status webhooks', async () => {
    const { body } = capturedStatusWebhook;
    const url = `${stack.api.url}${STATUS_WEBHOOK_PATH}`;
    const post = (label: string, rawBody: string, headers: Record<string, string>) =>
      exchange(`status webhook: ${label}`, url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: rawBody,
      }).then(record);
    const captured = signStatusWebhook(body, { secret: secrets.webhook });
    const altered = body.replace(/"status":"[a-z]+"/, '"status":"none"');
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    // The same delivery as captured ten minutes ago: only its occurred_at tells its age.
    const capturedLongAgo = body.replace(
      /"occurred_at":"[^"]+"/,
      `"occurred_at":"${tenMinutesAgo.toISOString()}"`,
    );
    const cases: { label: string; answer: Promise<Exchange>; expected: number }[] = [
      { label: 'replayed as captured', answer: post('replayed as captured', body, captured), expected: 200 },
      {
        label: 'captured signature, fresh timestamp',
        answer: post('captured signature, fresh timestamp', body, {
          ...captured,
          'webhook-timestamp': String(Number(captured['webhook-timestamp']) + 1),
          'x-hi-events-signature': 'sha256=00',
        }),
        expected: 401,
      },
      {
        label: 'body altered under captured signatures',
        answer: post('body altered', altered, captured),
        expected: 401,
      },
      {
        label: 're-signed with another key',
        answer: post(
          're-signed with another key',
          altered,
          signStatusWebhook(altered, { secret: 'not-the-webhook-secret-0123456789abcdef' }),
        ),
        expected: 401,
      },
      {
        label: 're-signed with the dev default key',
        answer: post(
          're-signed with the dev default key',
          altered,
          signStatusWebhook(altered, { secret: 'dev-hi-events-shared-secret-0123456789abcdef' }),
        ),
        expected: 401,
      },
      {
        label: 'same id, other content, correctly signed',
        answer: post(
          'same id, other content',
          altered,
          signStatusWebhook(altered, { secret: secrets.webhook }),
        ),
        expected: 200,
      },
      {
        label: 'Standard Webhooks timestamp ten minutes old',
        answer: post(
          'old timestamp',
          body,
          signStatusWebhook(body, {
            secret: secrets.webhook,
            scheme: 'standard-webhooks',
            timestamp: tenMinutesAgo,
          }),
        ),
        expected: 401,
      },
      {
        label: 'seed signature alone, replayed within five minutes',
        answer: post('seed only, fresh', body, {
          'x-hi-events-signature': signSeedSignature(body, secrets.webhook),
        }),
        expected: 200,
      },
      {
        label: 'seed signature alone on a ten-minute-old delivery',
        answer: post('seed only, stale', capturedLongAgo, {
          'x-hi-events-signature': signSeedSignature(capturedLongAgo, secrets.webhook),
        }),
        expected: 401,
      },
      {
        label: 'the Hi.Events signature scheme instead',
        answer: post('Hi.Events scheme', body, { signature: signHiEventsSignature(body, secrets.webhook) }),
        expected: 401,
      },
    ];
    for (const entry of cases) {
      const result = await entry.answer;
      expect(result.status, `${entry.label}: ${result.text}`).toBe(entry.expected);
      if (result.status === 200)
        expect(JSON.parse(result.text), entry.label).toMatchObject({ applied: false, reason: 'duplicate' });
    }

    const hook = capturedHiEventsWebhook;
    const hookUrl = `${stack.connector.url}/webhooks/hi-events/${hook.hiEventsEventId}`;
    const postHook = (label: string, rawBody: string, signature: string, target = hookUrl) =>
      exchange(`Hi.Events webhook: ${label}`, target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', signature, 'x-webhook-source': 'Hi.Events' },
        body: rawBody,
      }).then(record);
    const tampered = hook.body.replace('"status":"LIVE"', '"status":"ARCHIVED"');
    const hookCases: [string, Promise<Exchange>, number, string?][] = [
      ['replayed as captured', postHook('replayed', hook.body, hook.signature), 200, 'duplicate'],
      ['body altered under the captured signature', postHook('altered', tampered, hook.signature), 401],
      [
        're-serialized',
        postHook('re-serialized', JSON.stringify(JSON.parse(hook.body), null, 1), hook.signature),
        401,
      ],
      [
        'signed with another secret',
        postHook('another secret', tampered, signHiEventsSignature(tampered, 'another-secret')),
        401,
      ],
      [
        'sent to another event',
        postHook(
          'another event',
          hook.body,
          hook.signature,
          `${stack.connector.url}/webhooks/hi-events/${hook.hiEventsEventId + 1000}`,
        ),
        // As a bad signature: the answer does not tell which ids are linked.
        401,
      ],
      ['unsigned', postHook('unsigned', hook.body, ''), 401],
    ];
    for (const [label, answer, expected, outcome] of hookCases) {
      const result = await answer;
      expect(result.status, `${label}: ${result.text}`).toBe(expected);
      if (outcome) expect(JSON.parse(result.text).outcome, label).toBe(outcome);
    }
    printSummary('hostile input: webhook replays', {
      statusWebhookCases: cases.length,
      hiEventsWebhookCases: hookCases.length,
    });
  });

  it('refuses forged JWTs on every route that reads one, and forged cookies and shared secrets on the connector', async () => {
    const jwtRoutes: Route[] = [
      { method: 'GET', path: '/api/auth/me' },
      { method: 'GET', path: '/api/events' },
      { method: 'POST', path: '/api/events' },
      { method: 'GET', path: `/api/events/${linked.tuvensEventId}` },
      { method: 'POST', path: `/api/events/${linked.tuvensEventId}/ticketing/cancel` },
      { method: 'POST', path: '/api/cross-app/generate-session' },
      { method: 'GET', path: '/api/events/updates' },
    ];
    const body = JSON.stringify({
      eventId: linked.tuvensEventId,
      appId: 'hi-events',
      title: 'Forged',
      starts_at: new Date(Date.now() + 86_400_000).toISOString(),
      ends_at: new Date(Date.now() + 90_000_000).toISOString(),
    });
    let refused = 0;
    for (const route of jwtRoutes) {
      for (const [name, token] of Object.entries(forgedTokens)) {
        for (const authorization of [`Bearer ${token}`, `bearer ${token}`]) {
          const result = record(
            await exchange(
              `${route.method} ${route.path} with a JWT: ${name}`,
              `${stack.api.url}${route.path}`,
              {
                method: route.method,
                headers: { 'content-type': 'application/json', authorization },
                body: route.method === 'POST' ? body : undefined,
              },
            ),
          );
          expect(result.status, `${result.label}: ${result.text}`).toBe(401);
          expect(JSON.parse(result.text).error.code, result.label).toBe('unauthorized');
          refused++;
        }
      }
    }

    const cookies = [
      'tuvens_connector_session=forged',
      `tuvens_connector_session=${Buffer.alloc(32, 1).toString('base64url')}`,
      "tuvens_connector_session=' OR 1=1 --",
      `tuvens_connector_session=${'a'.repeat(4000)}`,
      '__Host-tuvens_connector_session=forged',
      `token=${forgedTokens['alg none']}; tuvens_connector_session=forged`,
      'tuvens_connector_session=',
    ];
    const origin = new URL(stack.connector.url).origin;
    for (const cookie of cookies) {
      const session = record(
        await exchange(`/auth/session with ${cookie.slice(0, 40)}`, `${stack.connector.url}/auth/session`, {
          headers: { cookie },
        }),
      );
      expect(session.status, session.label).toBe(401);
      const signOut = record(
        await exchange(`/auth/sign-out with ${cookie.slice(0, 40)}`, `${stack.connector.url}/auth/sign-out`, {
          method: 'POST',
          headers: { cookie, origin },
        }),
      );
      expect(signOut.status, signOut.label).toBe(200);
      refused++;
    }
    const forgedSecrets = [
      secrets.crossApp.slice(0, -1),
      secrets.crossApp.toUpperCase(),
      `${secrets.crossApp}x`,
      `x${secrets.crossApp}`,
      'dev-cross-app-shared-secret-0123456789abcdef',
      secrets.webhook,
    ];
    for (const secret of forgedSecrets) {
      for (const [method, path] of [
        ['GET', '/ops/outbox?status=delivered'],
        ['POST', '/ops/outbox/1/retry'],
      ] as const) {
        const result = record(
          await exchange(`${method} ${path} with a forged secret`, `${stack.connector.url}${path}`, {
            method,
            headers: { 'x-shared-secret': secret },
          }),
        );
        expect(result.status, result.label).toBe(401);
        refused++;
      }
      const result = record(
        await exchange(
          'validate-session with a forged secret',
          `${stack.api.url}/api/cross-app/validate-session`,
          {
            method: 'POST',
            headers: { 'x-shared-secret': secret, 'content-type': 'application/json' },
            body: JSON.stringify({ session_token: 'x'.repeat(43) }),
          },
        ),
      );
      expect(result.status, result.label).toBe(401);
      refused++;
    }
    printSummary('hostile input: forged credentials', {
      forgedJwts: Object.keys(forgedTokens).length,
      refused,
    });
  });

  it('answers an over-long path parameter and oversized headers in the one error shape, as every other refusal', async () => {
    const answers: Exchange[] = [];
    for (const [name, url, param] of [
      ['tuvens-api', stack.api.url, '/api/events/'],
      ['connector', stack.connector.url, '/webhooks/hi-events/'],
    ] as const) {
      answers.push(
        record(
          await exchange(`${name}: a 150-character path parameter`, `${url}${param}${'1'.repeat(150)}`, {
            method: param.startsWith('/api') ? 'GET' : 'POST',
          }),
        ),
        record(
          await exchange(`${name}: 20 KB of headers`, `${url}/healthz`, {
            headers: { 'x-big': 'a'.repeat(20_000) },
          }),
        ),
      );
    }
    printSummary('hostile input: framework refusals', {
      answers: answers.map((answer) => `${answer.status} ${answer.text.slice(0, 60)}`),
      seenDuringFuzzing: frameworkShaped.length,
    });
    for (const answer of answers) {
      expect(answer.status, answer.label).toBeGreaterThanOrEqual(400);
      expect(answer.status, answer.label).toBeLessThan(500);
      expect(JSON.parse(answer.text).error, `${answer.label}: ${answer.text.slice(0, 200)}`).toEqual({
        code: expect.any(String),
        message: expect.any(String),
      });
    }
  });

  it('changed no data, served no secret and kept both services up through all of it', async () => {
    const after = {
      api: await snapshotDatabase(stack.api.database.url!, { except: API_RECORDS_OF_ATTEMPTS }),
      connector: await snapshotDatabase(stack.connector.database.url!),
    };
    const changedTables = [
      ...Object.keys(before.api)
        .filter((table) => before.api[table] !== after.api[table])
        .map((table) => `api.${table}`),
      ...Object.keys(before.connector)
        .filter((table) => before.connector[table] !== after.connector[table])
        .map((table) => `connector.${table}`),
    ];
    const leaks = exchanges
      .map((result) => ({
        label: result.label,
        found: findSecrets(`${JSON.stringify(result.headers)}\n${result.text}`, secretsToFind),
      }))
      .filter((leak) => leak.found.length > 0);
    const byClass = (low: number, high: number) =>
      exchanges.filter((result) => result.status >= low && result.status < high).length;
    const health = await Promise.all(
      servers().map(
        async (server) => (await exchange(`${server.name} /healthz`, `${server.url}/healthz`)).status,
      ),
    );
    printSummary('hostile input', {
      requests: exchanges.length,
      answered2xx: byClass(200, 300),
      answered4xx: byClass(400, 500),
      answered5xx: byClass(500, 600),
      refusedInFastifysOwnShape: frameworkShaped.length,
      cutOffAfterOversizedUpload: byClass(0, 1),
      tablesCompared: Object.keys(before.api).length + Object.keys(before.connector).length,
      tablesChanged: changedTables.length,
      responsesWithASecret: leaks.length,
    });
    expect(changedTables).toEqual([]);
    expect(leaks).toEqual([]);
    expect(byClass(500, 600)).toBe(0);
    expect(health).toEqual([200, 200]);
  });
});
