import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_SHARED_SECRET,
  enableTicketing,
  openUpdatesStream,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

describe(`metrics and the widget beacon (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
    await enableTicketing(api.database.db, 2);
  });
  afterAll(() => api.close());

  const metricsText = async () => {
    const response = await fetch(`${api.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };

  it('counts cross-app calls by outcome, and request latency by route pattern', async () => {
    const organizer = await api.login('organizer@tuvens.test');
    const { body } = await api.request('POST', '/api/cross-app/generate-session', {
      body: { eventId: 1, appId: 'hi-events' },
      headers: { authorization: `Bearer ${organizer}` },
    });
    const validate = (secret: string) =>
      api.request('POST', '/api/cross-app/validate-session', {
        body: { session_token: body.session_token },
        headers: { 'x-shared-secret': secret },
      });
    await validate('wrong');
    await validate(DEV_SHARED_SECRET);
    await validate(DEV_SHARED_SECRET);
    await api.request('GET', '/api/events/2');

    const text = await metricsText();
    expect(text).toContain(
      'tuvens_cross_app_calls_total{call="cross_app.session.generate",outcome="success"} 1',
    );
    expect(text).toContain(
      'tuvens_cross_app_calls_total{call="cross_app.session.validate",outcome="success"} 1',
    );
    expect(text).toContain(
      'tuvens_cross_app_calls_total{call="cross_app.session.validate",outcome="wrong_shared_secret"} 1',
    );
    expect(text).toContain(
      'tuvens_cross_app_calls_total{call="cross_app.session.validate",outcome="consumed"} 1',
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/events\/:id",status_code="200"\} 1/,
    );
    expect(text).not.toContain(body.session_token);
  });

  it('records widget load reports sent as a text/plain beacon, and refuses malformed ones by name', async () => {
    const beacon = (payload: string) =>
      fetch(`${api.url}/api/telemetry/widget-load`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: payload,
      });
    expect((await beacon(JSON.stringify({ eventId: 1, outcome: 'loaded', duration_ms: 420 }))).status).toBe(
      204,
    );
    expect(
      (await beacon(JSON.stringify({ eventId: 1, outcome: 'fallback', duration_ms: 6000 }))).status,
    ).toBe(204);

    const wrong = await beacon(JSON.stringify({ eventId: 1, outcome: 'exploded', duration_ms: 1 }));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
      /^body\.outcome: /,
    );
    expect((await beacon('{not json')).status).toBe(400);
    expect((await beacon(JSON.stringify({ padding: 'x'.repeat(2000) }))).status).toBe(413);

    const text = await metricsText();
    expect(text).toContain('tuvens_widget_load_seconds_count{outcome="loaded"} 1');
    expect(text).toContain('tuvens_widget_load_seconds_count{outcome="fallback"} 1');
  });

  it('lets pages of another site send the beacon, while every other answer stays same-site', async () => {
    const beacon = (payload: string) =>
      fetch(`${api.url}/api/telemetry/widget-load`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: payload,
      });
    const recorded = await beacon(JSON.stringify({ eventId: 1, outcome: 'loaded', duration_ms: 300 }));
    expect(recorded.status).toBe(204);
    expect(recorded.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const refused = await beacon('{not json');
    expect(refused.status).toBe(400);
    expect(refused.headers.get('cross-origin-resource-policy')).toBe('cross-origin');

    const event = await fetch(`${api.url}/api/events/2`);
    expect(event.headers.get('cross-origin-resource-policy')).toBe('same-site');
  });

  it('counts webhooks by outcome, open streams and the messages written to them', async () => {
    const stream = openUpdatesStream(api.url, { query: '?eventIds=2' });
    await stream.waitUntilReady();
    const webhook = statusWebhook({ tuvens_event_id: 2, status: 'setup' });
    expect((await sendStatusWebhook(api, webhook)).body).toMatchObject({ applied: true });
    expect((await sendStatusWebhook(api, webhook)).body).toMatchObject({
      applied: false,
      reason: 'duplicate',
    });
    expect((await sendStatusWebhook(api, webhook, { secret: 'not-the-secret' })).status).toBe(401);
    await stream.waitForChanges(1);

    const text = await metricsText();
    expect(text).toContain('tuvens_webhooks_received_total{outcome="applied"} 1');
    expect(text).toContain('tuvens_webhooks_received_total{outcome="duplicate"} 1');
    expect(text).toContain('tuvens_webhooks_received_total{outcome="invalid_signature"} 1');
    expect(text).toContain('tuvens_sse_connections 1');
    expect(text).toContain('tuvens_sse_messages_total 1');
    stream.close();
  });
});
