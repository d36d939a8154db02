import { signHiEventsSignature } from '@tuvens/contracts/signatures';
import { testDatabaseKind } from '@tuvens/database/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, sendJson, startTestConnector, type TestConnector } from '../../test/helpers.ts';
import { sealSecret } from '../database/sealed-secrets.ts';
import { enqueueStatusChange, markDead } from '../outbox/outbox.ts';

const SECRET = 'per-webhook-secret-0123456789abcdef';
const HI_EVENTS_EVENT_ID = 7;

describe(`receiving Hi.Events’ webhooks (${testDatabaseKind})`, () => {
  let connector: TestConnector;
  const url = (id = HI_EVENTS_EVENT_ID) => `${connector.url}/webhooks/hi-events/${id}`;

  const envelope = (overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) =>
    JSON.stringify({
      event_type: 'event.updated',
      event_sent_at: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      payload: {
        id: HI_EVENTS_EVENT_ID,
        title: 'Summer Concert',
        start_date: '2026-12-07T18:00:00.000000Z',
        end_date: '2026-12-07T22:00:00.000000Z',
        status: 'LIVE',
        lifecycle_status: 'UPCOMING',
        slug: 'summer-concert',
        ...payload,
      },
      ...overrides,
    });
  const post = (
    body: string,
    options: { secret?: string; id?: number; headers?: Record<string, string> } = {},
  ) =>
    sendJson(url(options.id), 'POST', {
      body,
      headers: { signature: signHiEventsSignature(body, options.secret ?? SECRET), ...options.headers },
    });

  beforeAll(async () => {
    connector = await startTestConnector({
      tuvensApiUrl: `http://127.0.0.1:${await freePort()}`,
      hiEventsUrl: 'http://localhost:4200',
    });
  });
  afterAll(() => connector.close());
  beforeEach(async () => {
    const { db } = connector.database;
    await db.deleteFrom('status_outbox').execute();
    await db.deleteFrom('hi_events_webhook_receipts').execute();
    await db.deleteFrom('event_links').execute();
    await db.deleteFrom('external_account_mappings').execute();
    const now = new Date();
    await db
      .insertInto('external_account_mappings')
      .values({
        tuvens_account_id: 1,
        hi_events_account_id: 1,
        hi_events_owner_user_id: 1,
        hi_events_organizer_id: 1,
        name: 'Tuvens Demo Events',
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('event_links')
      .values({
        tuvens_event_id: 42,
        tuvens_account_id: 1,
        hi_events_event_id: HI_EVENTS_EVENT_ID,
        hi_events_account_id: 1,
        hi_events_event_url: 'http://localhost:4200/event/7/summer-concert',
        webhook_id: 3,
        webhook_secret: sealSecret(connector.config.encryptionKeys, SECRET),
        hi_events_status: 'DRAFT',
        hi_events_lifecycle_status: 'UPCOMING',
        observed_at: null,
        hi_events_sent_at: null,
        reported_status: 'setup',
        reconciled_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  });

  it('verifies, maps and queues: a published event becomes `active` for tuvens-api', async () => {
    const answer = await post(envelope({}, { title: 'Summer Concert, moved', slug: 'summer-concert-moved' }));
    expect(answer).toMatchObject({
      status: 200,
      body: { received: true, outcome: 'applied', queued: ['active'] },
    });
    const [message] = await connector.database.db.selectFrom('status_outbox').select('body').execute();
    expect(JSON.parse(message!.body).data).toEqual({
      tuvens_event_id: 42,
      hi_events_event_id: HI_EVENTS_EVENT_ID,
      status: 'active',
      hi_events_event_url: 'http://localhost:4200/event/7/summer-concert-moved',
      hi_events_status: 'LIVE',
      reason: 'published',
    });
  });

  it('refuses a bad or missing signature before reading the body, and an unlinked id alike', async () => {
    const body = envelope();
    const forged = await post(body, { secret: 'another-secret' });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('invalid_signature');
    expect((await sendJson(url(), 'POST', { body })).status).toBe(401);
    expect((await post('{not json', { secret: 'another-secret' })).status).toBe(401);
    // An id with no link answers exactly as a linked id with a wrong signature: nobody can list the links.
    const unknown = await post(body, { id: 8 });
    expect(unknown.status).toBe(forged.status);
    expect(unknown.body).toEqual(forged.body);
    expect(await connector.database.db.selectFrom('status_outbox').select('id').execute()).toEqual([]);
  });

  it('answers 503, not 401, when the stored secret was sealed with a key no longer configured', async () => {
    const { db } = connector.database;
    await db
      .updateTable('event_links')
      .set({ webhook_secret: sealSecret(['a-key-since-removed-0123456789abcdef0123'], SECRET) })
      .where('tuvens_event_id', '=', 42)
      .execute();
    const answer = await post(envelope());
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('unavailable');
    expect(await db.selectFrom('status_outbox').select('id').execute()).toEqual([]);
  });

  it('answers a signed but malformed webhook with a 400 that names the field', async () => {
    expect((await post('{not json')).body.error.code).toBe('invalid_json');
    expect((await post(JSON.stringify({ event_sent_at: 'x', payload: {} }))).body.error.message).toMatch(
      /^body\.event_type: /,
    );
    expect((await post(envelope({}, { status: 'PAUSED' }))).body.error.message).toMatch(/^payload\.status: /);
    expect((await post(envelope({}, { id: 9 }))).body.error.message).toMatch(/^payload\.id: /);
    expect((await post(envelope({ event_sent_at: 'yesterday' }))).body.error.message).toMatch(
      /^event_sent_at: /,
    );
    const wrongType = await sendJson(url(), 'POST', {
      body: 'x',
      headers: { 'content-type': 'text/plain', signature: 'x' },
    });
    expect(wrongType.status).toBe(415);
    const huge = await post(envelope({}, { description: 'x'.repeat(70 * 1024) }));
    expect(huge.status).toBe(413);
  });

  it('takes in the same bytes once, ignores webhook types it does not use, and refuses one older than any receipt kept', async () => {
    const body = envelope();
    expect((await post(body)).body.outcome).toBe('applied');
    expect((await post(body)).body.outcome).toBe('duplicate');
    expect((await post(envelope({ event_type: 'attendee.created' }))).body.outcome).toBe('ignored');
    // A product or an order changes no status; it only asks for the ticket summary again.
    expect((await post(envelope({ event_type: 'order.created' }))).body).toMatchObject({
      outcome: 'applied',
      queued: [],
    });
    const ancient = envelope({ event_sent_at: '2020-01-01T00:00:00+00:00' }, { status: 'ARCHIVED' });
    expect((await post(ancient)).body.outcome).toBe('stale');
    const queued = await connector.database.db
      .selectFrom('status_outbox')
      .select('ticketing_status')
      .execute();
    expect(queued).toEqual([{ ticketing_status: 'active' }]);
  });

  it('shows dead letters to operators holding the shared secret, and lets them put one back', async () => {
    const { db } = connector.database;
    const row = await enqueueStatusChange(
      db,
      {
        tuvensEventId: 42,
        status: 'active',
        hiEventsEventId: HI_EVENTS_EVENT_ID,
        hiEventsEventUrl: 'http://localhost:4200/event/7/summer-concert',
        hiEventsStatus: 'LIVE',
        reason: 'published',
        occurredAt: new Date(),
      },
      new Date(),
    );
    await markDead(db, row.id, new Date(), { error: 'tuvens-api refused it with 409: {}', statusCode: 409 });
    const secret = { authorization: `Bearer ${connector.config.opsTokens[0]!}` };

    expect((await connector.request('GET', '/ops/outbox')).status).toBe(401);
    // The secret shared with tuvens-api does not open the operators' routes.
    const shared = { 'x-shared-secret': connector.config.tuvens.sharedSecrets[0]! };
    expect((await connector.request('GET', '/ops/outbox', { headers: shared })).status).toBe(401);
    const listed = await connector.request('GET', '/ops/outbox?status=dead', { headers: secret });
    expect(listed.body.counts).toEqual({ pending: 0, delivered: 0, dead: 1 });
    expect(listed.body.messages[0]).toMatchObject({ id: row.id, last_status_code: 409, status: 'dead' });

    expect(
      (await connector.request('POST', `/ops/outbox/${row.id}/retry`, { headers: secret })).body,
    ).toEqual({
      requeued: true,
    });
    expect((await connector.request('POST', `/ops/outbox/${row.id}/retry`, { headers: secret })).status).toBe(
      404,
    );
    const metrics = await fetch(`${connector.url}/metrics`);
    expect(await metrics.text()).toContain('connector_outbox_messages{status="pending"} 1');
  });

  it('never answers hostile input on any route with a 5xx, and always in the one error shape', async () => {
    const routes = fc.constantFrom(
      { method: 'POST', path: '/auth/cross-app/validate' },
      { method: 'POST', path: '/auth/sign-out' },
      { method: 'GET', path: '/auth/session' },
      { method: 'POST', path: `/webhooks/hi-events/${HI_EVENTS_EVENT_ID}` },
      { method: 'POST', path: '/webhooks/hi-events/-1' },
      { method: 'POST', path: '/webhooks/hi-events/99999999999' },
      { method: 'GET', path: '/ops/outbox?status=everything&limit=-3' },
      { method: 'POST', path: '/ops/outbox/abc/retry' },
    );
    const bodies = fc.oneof(
      fc.json(),
      fc.string(),
      fc
        .record({ session_token: fc.oneof(fc.string(), fc.base64String()), event_id: fc.anything() })
        .map((value) => JSON.stringify(value)),
      fc.constant(''),
    );
    const headers = fc.record(
      {
        'content-type': fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
        ),
        origin: fc.constantFrom(connector.config.publicOrigin, 'https://evil.example', 'null'),
        cookie: fc
          .stringMatching(/^[\x20-\x3a\x3c-\x7e]{0,60}$/)
          .map((value) => `tuvens_connector_session=${value}`),
        signature: fc.stringMatching(/^[0-9a-f]{0,64}$/),
        'x-shared-secret': fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(routes, bodies, headers, async (route, body, requestHeaders) => {
        const response = await connector.connector.app.inject({
          method: route.method as 'GET' | 'POST',
          url: route.path,
          headers: requestHeaders,
          ...(route.method === 'POST' ? { payload: body } : {}),
        });
        expect(response.statusCode, `${route.method} ${route.path} ${body.slice(0, 100)}`).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.json().error).toEqual({ code: expect.any(String), message: expect.any(String) });
        }
      }),
      { numRuns: 300 },
    );
  });
});
