import { EVENT_UPDATES_PATH } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SHARED_SECRET, listRoutes, startTestApi, type TestApi } from './helpers.ts';

/** What a route's `:name` parameters are filled with: numbers, text, and numbers out of range. */
const pathSegment = fc
  .oneof(fc.nat(), fc.string(), fc.constant('-1'), fc.constant('99999999999'))
  .map((value) => encodeURIComponent(String(value)));

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);
const deepNesting = fc
  .integer({ min: 1, max: 5000 })
  .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** Bodies a hostile or broken client might send: JSON of any shape, near-misses of ours, and non-JSON. */
const bodies = fc.oneof(
  fc.json(),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        email: fc.oneof(fc.emailAddress(), fc.string(), fc.integer()),
        password: fc.oneof(fc.string(), fc.constant(null)),
        eventId: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null)),
        appId: fc.oneof(fc.constant('hi-events'), fc.string()),
        session_token: fc.oneof(fc.string(), fc.base64String(), fc.constant("' OR 1=1 --")),
        permission: fc.oneof(fc.constant('event:view'), fc.string()),
        resource: fc.oneof(fc.record({ type: fc.string(), id: fc.integer() }), fc.anything()),
        title: fc.string({ unit: 'grapheme', maxLength: 300 }),
        starts_at: fc.oneof(
          fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
          fc.string(),
        ),
        ends_at: fc.string(),
        __proto__: fc.constant({ polluted: true }),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  deepNesting,
  fc.string(),
  fc.constant(''),
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=utf-8',
      'x/y',
      '',
    ),
    authorization: fc.oneof(
      printable,
      printable.map((value) => `Bearer ${value}`),
    ),
    'x-shared-secret': fc.oneof(printable, fc.constant(DEV_SHARED_SECRET)),
    'x-session-token': printable,
    'x-request-id': printable,
  },
  { requiredKeys: [] },
);

describe(`hostile input (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('never answers 5xx on any route, and every refusal has the one error shape', async () => {
    const routes = listRoutes(api.app).filter(
      ({ method, path }) =>
        (method === 'GET' || method === 'POST') &&
        // The documentation's own pages; and the update stream, which never ends under inject
        // (its refusals are tested in sse-updates.test.ts, and over HTTP in the reliability suite).
        !path.startsWith('/docs') &&
        path !== EVENT_UPDATES_PATH,
    );
    expect(routes).toContainEqual({ method: 'POST', path: '/api/events/:id/ticketing/cancel' });
    const route = fc.tuple(fc.constantFrom(...routes), pathSegment).map(([{ method, path }, segment]) => ({
      method: method as 'GET' | 'POST',
      path: path.replace(/:[a-z_]+/gi, segment),
    }));
    await fc.assert(
      fc.asyncProperty(route, bodies, headers, async ({ method, path }, body, requestHeaders) => {
        const cleanHeaders = Object.fromEntries(
          Object.entries(requestHeaders).filter(([, value]) => value !== ''),
        );
        const response = await api.app.inject({
          method,
          url: path,
          headers: cleanHeaders,
          ...(method === 'POST' ? { payload: body } : {}),
        });
        expect(response.statusCode, `${method} ${path} ${body.slice(0, 200)}`).toBeLessThan(500);
        if (response.statusCode >= 400) {
          const parsed = response.json();
          expect(parsed.error.code).toEqual(expect.any(String));
          expect(parsed.error.message).toEqual(expect.any(String));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('answers an oversized body with 413 and changes nothing', async () => {
    const before = await api.database.db
      .selectFrom('events')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirst();
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ title: 'x'.repeat(70 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('payload_too_large');
    const after = await api.database.db
      .selectFrom('events')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirst();
    expect(after).toEqual(before);
  });

  it('names the field that is wrong', async () => {
    const response = await api.request('POST', '/api/auth/login', {
      body: { email: 'not-an-email', password: 'x' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'validation_failed',
      message: expect.stringMatching(/^body\.email: /),
    });

    const malformed = await api.request('POST', '/api/auth/login', { body: '{"email":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
  });

  it('answers an over-long path segment and oversized headers in the one error shape, echoing nothing', async () => {
    const longId = '1'.repeat(150);
    const tooLong = await fetch(`${api.url}/api/events/${longId}`);
    expect(tooLong.status).toBe(414);
    const body = await tooLong.text();
    expect(JSON.parse(body)).toEqual({ error: { code: 'uri_too_long', message: expect.any(String) } });
    expect(body).not.toContain(longId);

    const huge = await fetch(`${api.url}/api/events`, { headers: { 'x-padding': 'x'.repeat(20_000) } });
    expect(huge.status).toBe(431);
    expect(await huge.json()).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
  });
});
