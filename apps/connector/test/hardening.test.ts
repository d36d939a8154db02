import { testDatabaseKind } from '@tuvens/database/testing';
import { sendSlowRequest } from '@tuvens/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestConnector, type TestConnector } from './helpers.ts';

describe(`the connector under attack (${testDatabaseKind})`, () => {
  let connector: TestConnector;

  beforeAll(async () => {
    connector = await startTestConnector({
      // Nothing here reaches tuvens-api or Hi.Events.
      tuvensApiUrl: 'http://127.0.0.1:9',
      hiEventsUrl: 'http://127.0.0.1:9',
      env: { REQUEST_TIMEOUT_MS: '1000', CONNECTION_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(() => connector.close());

  it('a request that sends its body a byte at a time is cut at the request timeout', async () => {
    const slow = await sendSlowRequest(connector.url, { path: '/webhooks/hi-events/1' });
    expect(slow.closed).toBe(true);
    expect(slow.openMs).toBeLessThan(4_000);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});
