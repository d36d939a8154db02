import { WIDGET_LOAD_BEACON_PATH } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.ts';

const strong = (label: string) => `${label}-${'q'.repeat(40)}`;
const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: strong('jwt'),
  CROSS_APP_SHARED_SECRET: strong('cross'),
  HI_EVENTS_SHARED_SECRET: strong('hook'),
  WEB_API_SECRET: strong('web'),
  HI_EVENTS_PUBLIC_URL: 'https://tickets.example',
};
const METRICS_TOKEN = strong('metrics');

describe(`tuvens-api in production (${testDatabaseKind})`, () => {
  let api: TestApi;
  let noToken: TestApi;

  beforeAll(async () => {
    api = await startTestApi({
      env: { ...PRODUCTION, METRICS_TOKEN, RATE_LIMIT_BEACON_PER_MINUTE: '5' },
    });
    noToken = await startTestApi({ env: PRODUCTION, database: api.database });
  });
  afterAll(async () => {
    await noToken.close();
    await api.close();
  });

  it('metrics answer only to their token', async () => {
    expect((await api.request('GET', '/metrics')).status).toBe(401);
    const wrong = await api.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${strong('nope')}` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    const right = await api.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(right.body).toContain('tuvens_sse_connections');
  });

  it('without a metrics token, production serves no metrics at all', async () => {
    const answer = await noToken.request('GET', '/metrics');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('not_found');
  });

  it('serves no API documentation unless API_DOCS turns it on', async () => {
    expect((await api.request('GET', '/docs')).status).toBe(404);
    expect((await api.request('GET', '/docs/json')).status).toBe(404);
    const withDocs = await startTestApi({ env: { ...PRODUCTION, API_DOCS: 'true' }, database: api.database });
    try {
      expect((await withDocs.request('GET', '/docs/json')).status).toBe(200);
    } finally {
      await withDocs.close();
    }
  });

  it('the widget-load beacon is limited per client and in size', async () => {
    const report = { eventId: 1, outcome: 'loaded', duration_ms: 120 };
    const statuses: number[] = [];
    for (let sent = 0; sent < 6; sent++) {
      statuses.push((await api.request('POST', WIDGET_LOAD_BEACON_PATH, { body: report })).status);
    }
    expect(statuses).toEqual([204, 204, 204, 204, 204, 429]);
    const huge = await noToken.request('POST', WIDGET_LOAD_BEACON_PATH, {
      body: { ...report, padding: 'x'.repeat(4_096) },
    });
    expect(huge.status).toBe(413);
  });
});
