import { CLIENT_ADDRESS_HEADER, EVENT_UPDATES_PATH, WEB_SECRET_HEADER } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { sendSlowRequest } from '@tuvens/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  enableTicketing,
  openUpdatesStream,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

const WEB_SECRET = 'dev-web-api-secret-0123456789abcdef012345';

describe(`connection limits (${testDatabaseKind})`, () => {
  let api: TestApi;
  const open: AbortController[] = [];

  /** Opens a raw updates stream and answers its status and, for a refusal, its body. */
  async function openStream(headers: Record<string, string> = {}) {
    const controller = new AbortController();
    const response = await fetch(`${api.url}${EVENT_UPDATES_PATH}`, { headers, signal: controller.signal });
    if (response.status === 200) open.push(controller);
    // biome-ignore lint/suspicious/noExplicitAny: the one error shape, read loosely
    const body: any = response.status === 200 ? undefined : await response.json();
    return { status: response.status, body, close: () => controller.abort() };
  }
  const fromBrowser = (address: string) => ({
    [CLIENT_ADDRESS_HEADER]: address,
    [WEB_SECRET_HEADER]: WEB_SECRET,
  });

  beforeAll(async () => {
    api = await startTestApi({
      env: {
        SSE_MAX_STREAMS: '6',
        SSE_MAX_STREAMS_PER_CLIENT: '3',
        SSE_MAX_STREAMS_PER_USER: '2',
        REQUEST_TIMEOUT_MS: '1000',
        CONNECTION_TIMEOUT_MS: '1000',
      },
    });
    await enableTicketing(api.database.db, 1);
  });
  afterEach(async () => {
    for (const controller of open.splice(0)) controller.abort();
    // Each test starts with no stream open, once the server has seen the last ones go.
    await expect
      .poll(async () => (await api.request('GET', '/metrics')).body)
      .toMatch(/^tuvens_sse_connections 0$/m);
  });
  afterAll(() => api.close());

  it('one client address cannot open more streams than its share; others still can', async () => {
    for (let stream = 0; stream < 3; stream++) expect((await openStream()).status).toBe(200);
    const fourth = await openStream();
    expect(fourth.status).toBe(429);
    expect(fourth.body.error.code).toBe('rate_limited');
    // A browser behind the web server is counted as itself, not as the web server.
    expect((await openStream(fromBrowser('198.51.100.5'))).status).toBe(200);
  });

  it('a closed stream gives its place back', async () => {
    const streams = [await openStream(), await openStream(), await openStream()];
    expect((await openStream()).status).toBe(429);
    streams[0]!.close();
    await expect.poll(async () => (await openStream()).status).toBe(200);
  });

  it('one signed-in user cannot open more streams than theirs from many addresses', async () => {
    const token = await api.login('member@tuvens.test');
    const signedIn = (address: string) => ({ ...fromBrowser(address), authorization: `Bearer ${token}` });
    expect((await openStream(signedIn('192.0.2.1'))).status).toBe(200);
    expect((await openStream(signedIn('192.0.2.2'))).status).toBe(200);
    const third = await openStream(signedIn('192.0.2.3'));
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/sign-in/);
  });

  it('beyond the instance’s total a new stream is a 503', async () => {
    for (let client = 1; client <= 6; client++) {
      expect((await openStream(fromBrowser(`203.0.113.${client}`))).status).toBe(200);
    }
    const refused = await openStream(fromBrowser('203.0.113.99'));
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('service_unavailable');
  });

  it('a request that sends its body a byte at a time is cut at the request timeout', async () => {
    const slow = await sendSlowRequest(api.url, { path: '/api/auth/login' });
    // Cut within the timeout and Node's check interval, not left open for as long as the client drips.
    expect(slow.closed).toBe(true);
    expect(slow.openMs).toBeLessThan(4_000);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.answer).toContain('"code":"request_timeout"');
  });

  it('a stream outlives the request and connection timeouts and keeps delivering', async () => {
    const stream = openUpdatesStream(api.url);
    try {
      await stream.waitUntilReady();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const webhook = statusWebhook({ tuvens_event_id: 1, status: 'setup' });
      expect((await sendStatusWebhook(api, webhook)).status).toBe(200);
      await stream.waitForChanges(1);
      expect(stream.readyIds).toHaveLength(1);
    } finally {
      stream.close();
    }
  });
});
