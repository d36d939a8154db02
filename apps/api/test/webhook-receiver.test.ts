import { STATUS_WEBHOOK_MAX_BYTES, STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { createManualClock } from '@tuvens/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEvent } from '../src/events/events.ts';
import {
  enableTicketing,
  newTicketingEvent,
  sendStatusWebhook,
  signStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

const MINUTE_MS = 60_000;

describe(`the status webhook over HTTP (${testDatabaseKind})`, () => {
  let api: TestApi;
  const { clock, advance } = createManualClock();

  beforeAll(async () => {
    api = await startTestApi({ clock });
  });
  afterAll(() => api.close());

  const newEvent = () => newTicketingEvent(api.database.db, { title: 'Webhook test event', now: clock() });
  const statusOf = async (eventId: number) => (await findEvent(api.database.db, eventId))!.ticketing_status;
  const changeCount = async (eventId: number) =>
    (
      await api.database.db
        .selectFrom('ticketing_status_changes')
        .where('event_id', '=', eventId)
        .selectAll()
        .execute()
    ).length;
  const failures = (eventId: number | null) =>
    api.database.db
      .selectFrom('audit_log')
      .select(['reason', 'actor'])
      .where('action', '=', 'hi_events.webhook.status_changed')
      .where('outcome', '=', 'failure')
      .where('event_id', eventId === null ? 'is' : '=', eventId)
      .orderBy('id')
      .execute();

  it('applies a status signed with Standard Webhooks and answers what it did', async () => {
    const eventId = await newEvent();
    const response = await sendStatusWebhook(
      api,
      statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() }),
      { scheme: 'standard-webhooks' },
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ applied: true, status: 'setup' });
    expect(await statusOf(eventId)).toBe('setup');
  });

  it('applies a status signed with the seed’s x-hi-events-signature alone', async () => {
    const eventId = await newEvent();
    const response = await sendStatusWebhook(
      api,
      statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() }),
      { scheme: 'seed' },
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ applied: true, status: 'setup' });
  });

  it('refuses a tampered body, a wrong secret and a missing signature with 401, and applies nothing', async () => {
    const eventId = await newEvent();
    const signed = JSON.stringify(
      statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() }),
    );
    const tampered = await api.request('POST', STATUS_WEBHOOK_PATH, {
      body: signed.replace('"setup"', '"active"'),
      headers: signStatusWebhook(signed),
    });
    const wrongSecret = await sendStatusWebhook(api, signed, {
      secret: 'someone-elses-secret-0123456789abcdef',
    });
    const unsigned = await api.request('POST', STATUS_WEBHOOK_PATH, { body: signed });

    expect([tampered.status, wrongSecret.status, unsigned.status]).toEqual([401, 401, 401]);
    expect(tampered.body.error.code).toBe('invalid_signature');
    expect(tampered.body.error.message).toMatch(/webhook-signature.*x-hi-events-signature/);
    expect(wrongSecret.body.error.code).toBe('invalid_signature');
    expect(unsigned.body.error).toMatchObject({ code: 'missing_signature' });
    expect(unsigned.body.error.message).toContain('x-hi-events-signature');
    expect(await statusOf(eventId)).toBe('none');
    expect(await changeCount(eventId)).toBe(0);
  });

  it('audits refused signatures once a minute per kind and address, without the signature itself', async () => {
    // A window of its own, whatever the tests before it refused.
    advance(61_000);
    const before = (await failures(null)).length;
    const body = JSON.stringify(statusWebhook({ tuvens_event_id: 1, status: 'setup' }));
    for (let attempt = 0; attempt < 25; attempt++) {
      expect((await api.request('POST', STATUS_WEBHOOK_PATH, { body })).status).toBe(401);
      const forged = await sendStatusWebhook(api, body, { secret: 'someone-elses-secret-0123456789abcdef' });
      expect(forged.status).toBe(401);
    }
    // Fifty refusals leave two rows, one of each kind; the metrics count them all.
    expect((await failures(null)).slice(before)).toEqual([
      { reason: 'missing_signature', actor: 'anonymous' },
      { reason: 'invalid_signature', actor: 'anonymous' },
    ]);
    const metrics = (await api.request('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/tuvens_webhooks_received_total\{outcome="invalid_signature"\} (2[5-9]|[3-9]\d)/);

    advance(61_000);
    await sendStatusWebhook(api, body, { secret: 'someone-elses-secret-0123456789abcdef' });
    expect((await failures(null)).slice(before)).toHaveLength(3);

    const stored = JSON.stringify(await api.database.db.selectFrom('audit_log').selectAll().execute());
    expect(stored).not.toContain('sha256=');
    expect(stored).not.toContain('v1,');
  });

  it('refuses a Standard Webhooks timestamp more than five minutes from the server’s clock', async () => {
    const eventId = await newEvent();
    const payload = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() });
    const stale = await sendStatusWebhook(api, payload, {
      scheme: 'standard-webhooks',
      timestamp: new Date(clock().getTime() - 6 * MINUTE_MS),
    });
    const future = await sendStatusWebhook(api, payload, {
      scheme: 'standard-webhooks',
      timestamp: new Date(clock().getTime() + 6 * MINUTE_MS),
    });
    expect([stale.status, future.status]).toEqual([401, 401]);
    expect(stale.body.error).toMatchObject({ code: 'stale_timestamp' });
    expect(stale.body.error.message).toContain('webhook-timestamp');
    expect(await statusOf(eventId)).toBe('none');
  });

  it('with the seed scheme alone, refuses an occurred_at more than five minutes from the server’s clock', async () => {
    const eventId = await newEvent();
    const payload = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() });
    advance(5 * MINUTE_MS + 1_000);
    try {
      const late = await sendStatusWebhook(api, payload, { scheme: 'seed' });
      expect(late.status).toBe(401);
      expect(late.body.error.code).toBe('stale_timestamp');
      expect(late.body.error.message).toContain('occurred_at');
      expect(await statusOf(eventId)).toBe('none');
    } finally {
      advance(-(5 * MINUTE_MS + 1_000));
    }
  });

  it('accepts a Standard Webhooks redelivery of an update that happened long ago', async () => {
    const eventId = await newEvent();
    const payload = statusWebhook(
      { tuvens_event_id: eventId, status: 'setup' },
      { occurredAt: new Date(clock().getTime() - 3 * 60 * MINUTE_MS) },
    );
    const response = await sendStatusWebhook(api, payload, { scheme: 'standard-webhooks' });
    expect(response.body).toEqual({ applied: true, status: 'setup' });
  });

  it('refuses an occurred_at more than five minutes ahead with 400 naming it', async () => {
    const eventId = await newEvent();
    const payload = statusWebhook(
      { tuvens_event_id: eventId, status: 'setup' },
      { occurredAt: new Date(clock().getTime() + 6 * MINUTE_MS) },
    );
    const response = await sendStatusWebhook(api, payload, { scheme: 'standard-webhooks' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'validation_failed' });
    expect(response.body.error.message).toMatch(/^body\.occurred_at: /);
  });

  it('checks the signature before the body: junk is 401 unsigned, 400 once signed', async () => {
    const unsigned = await api.request('POST', STATUS_WEBHOOK_PATH, {
      body: 'not json',
      headers: { 'content-type': 'text/plain' },
    });
    const signedJunk = await sendStatusWebhook(api, '{"id": ', { scheme: 'seed' });
    expect(unsigned.status).toBe(401);
    expect(signedJunk.status).toBe(400);
    expect(signedJunk.body.error.code).toBe('invalid_json');
  });

  it('names the malformed field of a signed body', async () => {
    const payload = statusWebhook({ tuvens_event_id: 1, status: 'setup' });
    const badStatus = await sendStatusWebhook(api, {
      ...payload,
      data: { ...payload.data, status: 'sold_out' },
    });
    const badType = await sendStatusWebhook(api, { ...payload, type: 'event.deleted' });
    const badTime = await sendStatusWebhook(api, { ...payload, occurred_at: 'yesterday' });
    expect([badStatus.status, badType.status, badTime.status]).toEqual([400, 400, 400]);
    expect(badStatus.body.error.message).toMatch(/^body\.data\.status: /);
    expect(badType.body.error.message).toMatch(/^body\.type: /);
    expect(badTime.body.error.message).toMatch(/^body\.occurred_at: /);
  });

  it('answers 404 for an unknown Tuvens event and 409 for a transition the state machine forbids', async () => {
    const unknown = await sendStatusWebhook(
      api,
      statusWebhook({ tuvens_event_id: 999_999, status: 'setup' }, { occurredAt: clock() }),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'event_not_found' });
    expect(unknown.body.error.message).toContain('data.tuvens_event_id');

    const eventId = await newEvent();
    const forbidden = await sendStatusWebhook(
      api,
      statusWebhook({ tuvens_event_id: eventId, status: 'active' }, { occurredAt: clock() }),
    );
    expect(forbidden.status).toBe(409);
    expect(forbidden.body.error).toEqual({
      code: 'transition_not_allowed',
      message: `data.status: ticketing of event ${eventId} cannot go from none to active`,
    });
    expect(await failures(eventId)).toEqual([{ reason: 'transition_not_allowed', actor: 'hi-events' }]);
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const payload = statusWebhook({ tuvens_event_id: 1, status: 'setup', reason: 'x' });
    const body = JSON.stringify(payload).replace(
      '"reason":"x"',
      `"reason":"${'x'.repeat(STATUS_WEBHOOK_MAX_BYTES)}"`,
    );
    const response = await sendStatusWebhook(api, body);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });
});

describe(`the status webhook’s secret rotation and rate limit (${testDatabaseKind})`, () => {
  const NEW_SECRET = 'rotated-hi-events-secret-0123456789abcdef-new';
  const OLD_SECRET = 'rotated-hi-events-secret-0123456789abcdef-old';
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({
      env: { HI_EVENTS_SHARED_SECRET: `${NEW_SECRET},${OLD_SECRET}`, RATE_LIMIT_WEBHOOK_PER_MINUTE: '3' },
    });
    await enableTicketing(api.database.db, 1);
  });
  afterAll(() => api.close());

  it('accepts both secrets while one replaces the other, then limits the rate with 429', async () => {
    const send = (secret: string) =>
      sendStatusWebhook(api, statusWebhook({ tuvens_event_id: 1, status: 'setup' }), { secret });
    expect((await send(OLD_SECRET)).body).toEqual({ applied: true, status: 'setup' });
    expect((await send(NEW_SECRET)).body).toEqual({ applied: false, status: 'setup', reason: 'unchanged' });
    expect((await send('dev-hi-events-shared-secret-0123456789abcdef')).status).toBe(401);
    const limited = await send(NEW_SECRET);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');

    // The first refusal in the window is audited; a flood after it is only counted.
    expect((await send(NEW_SECRET)).status).toBe(429);
    const rateLimited = () =>
      api.database.db
        .selectFrom('audit_log')
        .select(['action', 'outcome', 'actor', 'reason', 'details'])
        .where('action', '=', 'http.rate_limited')
        .execute();
    await expect.poll(rateLimited).toEqual([
      {
        action: 'http.rate_limited',
        outcome: 'failure',
        actor: 'anonymous',
        reason: 'rate_limited',
        details: { method: 'POST', route: STATUS_WEBHOOK_PATH },
      },
    ]);
  });
});
