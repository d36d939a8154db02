import { testDatabaseKind } from '@tuvens/database/testing';
import { sendSlowRequest } from '@tuvens/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestConnector, type TestConnector } from './helpers.ts';

const METRICS_TOKEN = 'metrics-token-of-the-connector-0123456789';

describe(`the connector under attack (${testDatabaseKind})`, () => {
  let connector: TestConnector;

  beforeAll(async () => {
    connector = await startTestConnector({
      // Nothing here reaches tuvens-api or Hi.Events.
      tuvensApiUrl: 'http://127.0.0.1:9',
      hiEventsUrl: 'http://127.0.0.1:9',
      env: { REQUEST_TIMEOUT_MS: '1000', CONNECTION_TIMEOUT_MS: '1000', METRICS_TOKEN: METRICS_TOKEN },
    });
  });
  afterAll(() => connector.close());

  it('a request that sends its body a byte at a time is cut at the request timeout', async () => {
    const slow = await sendSlowRequest(connector.url, { path: '/webhooks/hi-events/1' });
    expect(slow.closed).toBe(true);
    expect(slow.openMs).toBeLessThan(4_000);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('metrics answer only to their token', async () => {
    expect((await connector.request('GET', '/metrics')).status).toBe(401);
    const right = await fetch(`${connector.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
  });

  it('the operators’ routes open with their own token, not the secret shared with tuvens-api', async () => {
    const shared = { 'x-shared-secret': connector.config.tuvens.sharedSecrets[0]! };
    const withShared = await connector.request('GET', '/ops/outbox', { headers: shared });
    expect(withShared.status).toBe(401);
    const sharedAsBearer = { authorization: `Bearer ${connector.config.tuvens.sharedSecrets[0]!}` };
    expect((await connector.request('GET', '/ops/outbox', { headers: sharedAsBearer })).status).toBe(401);
    const ops = { authorization: `Bearer ${connector.config.opsTokens[0]!}` };
    expect((await connector.request('GET', '/ops/outbox', { headers: ops })).status).toBe(200);
  });
});
