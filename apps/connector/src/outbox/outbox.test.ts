import { StatusWebhook, type TicketingStatus } from '@tuvens/contracts';
import { verifySeedSignature } from '@tuvens/contracts/signatures';
import { openTestDatabase, type TestDatabase, testDatabaseKind } from '@tuvens/database/testing';
import { createManualClock } from '@tuvens/server';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { connectorMigrations } from '../database/migrations/index.ts';
import type { ConnectorDatabase } from '../database/schema.ts';
import { createMetrics } from '../http/metrics.ts';
import { backoffDelayMs } from './delivery.ts';
import {
  claimDueMessages,
  countMessages,
  enqueueStatusChange,
  listMessages,
  reviveDeadLetter,
} from './outbox.ts';
import { createOutboxWorker } from './worker.ts';

const SECRET = 'dev-hi-events-shared-secret-0123456789abcdef';
const environment = {
  NODE_ENV: 'test',
  TUVENS_API_URL: 'http://tuvens-api.test',
  DELIVERY_BACKOFF_BASE_MS: '1000',
  DELIVERY_BACKOFF_MAX_MS: '60000',
};
const config = loadConfig(environment);

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** tuvens-api as seen through `fetch`: each call is recorded and answered by `answer`. */
function fakeTuvensApi(
  answer: (sent: Sent, index: number) => Response | Promise<Response> = () => new Response('{}'),
) {
  const sent: Sent[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const request = { url, headers: init.headers as Record<string, string>, body: String(init.body) };
    sent.push(request);
    return answer(request, sent.length - 1);
  }) as typeof fetch;
  return { sent, fetch: fetchImpl, statuses: (eventId: number) => statusesOf(sent, eventId) };
}

function statusesOf(sent: Sent[], eventId: number): TicketingStatus[] {
  return sent
    .map((request) => StatusWebhook.parse(JSON.parse(request.body)))
    .filter((message) => message.data.tuvens_event_id === eventId)
    .map((message) => message.data.status);
}

const refused = () => {
  throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
};

describe(`the status outbox (${testDatabaseKind})`, () => {
  let database: TestDatabase<ConnectorDatabase>;
  const start = new Date();
  const time = createManualClock(start);
  const log = pino({ level: 'silent' });

  const worker = (fetchImpl: typeof fetch, workerConfig = config) =>
    createOutboxWorker({
      db: database.db,
      config: workerConfig,
      clock: time.clock,
      fetch: fetchImpl,
      log,
      metrics: createMetrics(database.db),
      random: (max) => max,
    });

  const enqueue = (tuvensEventId: number, status: TicketingStatus) =>
    enqueueStatusChange(
      database.db,
      {
        tuvensEventId,
        status,
        hiEventsEventId: 7,
        hiEventsEventUrl: 'http://localhost:4200/event/7/summer-concert',
        hiEventsStatus: status === 'active' ? 'LIVE' : 'DRAFT',
        reason: 'test',
        occurredAt: time.clock(),
      },
      time.clock(),
    );

  beforeAll(async () => {
    database = await openTestDatabase<ConnectorDatabase>(connectorMigrations);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    time.set(start);
    await database.db.deleteFrom('status_outbox').execute();
  });

  it('delivers an event’s statuses oldest first, holding a newer one back while an older one waits to be retried', async () => {
    await enqueue(1, 'setup');
    await enqueue(1, 'active');
    await enqueue(2, 'setup');
    const api = fakeTuvensApi((_sent, index) => new Response('busy', { status: index === 0 ? 503 : 200 }));
    const outbox = worker(api.fetch);

    expect(await outbox.runOnce()).toBe(2);
    expect(api.statuses(2)).toEqual(['setup']);
    expect(await outbox.runOnce()).toBe(0);

    time.advance(1000);
    expect(await outbox.runOnce()).toBe(1);
    expect(await outbox.runOnce()).toBe(1);
    expect(api.statuses(1)).toEqual(['setup', 'setup', 'active']);
    expect(await countMessages(database.db)).toEqual({ pending: 0, delivered: 3, dead: 0 });
  });

  it('signs each message with both schemes over the stored bytes, under an id that stays the same across retries', async () => {
    const row = await enqueue(3, 'setup');
    const api = fakeTuvensApi((_sent, index) => (index === 0 ? refused() : new Response('{}')));
    const outbox = worker(api.fetch);
    await outbox.runOnce();
    time.advance(60_000);
    await outbox.runOnce();

    expect(api.sent).toHaveLength(2);
    for (const [index, request] of api.sent.entries()) {
      expect(request.url).toBe('http://tuvens-api.test/api/webhooks/hi-events/event-status-changed');
      expect(request.body).toBe(row.body);
      expect(request.headers['webhook-id']).toBe(row.message_id);
      expect(JSON.parse(request.body).id).toBe(row.message_id);
      expect(verifySeedSignature(request.body, request.headers['x-hi-events-signature'], [SECRET])).toBe(
        true,
      );
      // A fresh timestamp on every try keeps a late retry inside the receiver's replay window.
      expect(Number(request.headers['webhook-timestamp'])).toBe(
        Math.floor(start.getTime() / 1000) + index * 60,
      );
      expect(new Webhook(SECRET, { format: 'raw' }).verify(request.body, request.headers)).toMatchObject({
        id: row.message_id,
      });
    }
  });

  it('retries network errors, timeouts, redirects, 408, 429 and 5xx, honouring a longer Retry-After', async () => {
    const answers: (() => Response)[] = [
      refused,
      () => {
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      },
      () => new Response(null, { status: 302, headers: { location: 'http://elsewhere.test/' } }),
      () => new Response('slow', { status: 408 }),
      () => new Response('later', { status: 429, headers: { 'retry-after': '120' } }),
      () => new Response('oops', { status: 500 }),
      () => new Response('down', { status: 503 }),
    ];
    for (const [index] of answers.entries()) await enqueue(100 + index, 'setup');
    const api = fakeTuvensApi((request) =>
      answers[StatusWebhook.parse(JSON.parse(request.body)).data.tuvens_event_id - 100]!(),
    );
    await worker(api.fetch).runOnce();

    const rows = await database.db
      .selectFrom('status_outbox')
      .selectAll()
      .orderBy('tuvens_event_id')
      .execute();
    const now = time.clock().getTime();
    expect(rows.map((row) => [row.status, row.attempts])).toEqual(answers.map(() => ['pending', 1]));
    expect(rows.map((row) => row.last_error)).toEqual([
      'ECONNREFUSED',
      'timed out',
      'redirected (302); redirects are not followed',
      'tuvens-api answered 408: slow',
      'tuvens-api answered 429: later',
      'tuvens-api answered 500: oops',
      'tuvens-api answered 503: down',
    ]);
    expect(rows[4]!.next_attempt_at.getTime() - now).toBe(120_000);
    expect(rows[0]!.next_attempt_at.getTime() - now).toBe(1000);
  });

  it('treats any other 4xx as final: the message becomes a dead letter that stays visible until put back', async () => {
    await enqueue(4, 'setup');
    await enqueue(4, 'active');
    const api = fakeTuvensApi((_sent, index) =>
      index === 0
        ? new Response(JSON.stringify({ error: { code: 'transition_not_allowed', message: 'no' } }), {
            status: 409,
          })
        : new Response('{}'),
    );
    const outbox = worker(api.fetch);
    await outbox.runOnce();
    const [dead] = await listMessages(database.db, 'dead', 10);
    expect(dead).toMatchObject({
      tuvens_event_id: 4,
      ticketing_status: 'setup',
      last_status_code: 409,
      attempts: 1,
    });
    expect(dead!.last_error).toContain('409');

    // A dead letter no longer holds back the event's later statuses.
    await outbox.runOnce();
    expect(api.statuses(4)).toEqual(['setup', 'active']);

    expect(await reviveDeadLetter(database.db, dead!.id, time.clock())).toBe(true);
    expect(await reviveDeadLetter(database.db, dead!.id, time.clock())).toBe(false);
    await outbox.runOnce();
    expect(await countMessages(database.db)).toEqual({ pending: 0, delivered: 2, dead: 0 });
  });

  it('backs off exponentially with full jitter, never past the cap', () => {
    const settings = { baseMs: 1000, maxMs: 60_000 };
    const ceiling = (attempt: number) => backoffDelayMs(attempt, settings, undefined, (max) => max);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(ceiling)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(backoffDelayMs(3, settings, undefined, () => 0)).toBe(400);
    expect(backoffDelayMs(40, settings, undefined, (max) => max)).toBe(60_000);
    expect(backoffDelayMs(1, settings, 30_000, () => 0)).toBe(30_000);
    expect(backoffDelayMs(1, settings, 120_000, () => 0)).toBe(120_000);
  });

  it('lets several workers share the database without sending any message twice or out of order', async () => {
    const events = [10, 11, 12, 13, 14, 15];
    for (const status of ['setup', 'active', 'inactive'] as const)
      for (const id of events) await enqueue(id, status);
    const api = fakeTuvensApi(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return new Response('{}');
    });
    const workers = [worker(api.fetch), worker(api.fetch), worker(api.fetch)];
    while ((await countMessages(database.db)).pending > 0)
      await Promise.all(workers.map((each) => each.runOnce()));

    const ids = api.sent.map((request) => request.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(events.length * 3);
    for (const id of events) expect(api.statuses(id)).toEqual(['setup', 'active', 'inactive']);
  });

  it('resumes after a restart, taking over a message whose worker died while sending it', async () => {
    await enqueue(5, 'setup');
    await enqueue(5, 'active');
    // A worker claims the first message and dies before it answers.
    expect(await claimDueMessages(database.db, time.clock(), { limit: 10, leaseMs: 40_000 })).toHaveLength(1);

    const api = fakeTuvensApi();
    const restarted = worker(api.fetch);
    expect(await restarted.runOnce()).toBe(0);
    time.advance(40_000);
    await restarted.runOnce();
    await restarted.runOnce();
    expect(api.statuses(5)).toEqual(['setup', 'active']);
  });

  it('in the background, a delivery still waiting for its answer holds back only its own event', async () => {
    let answerSlowOne = () => {};
    const slowAnswer = new Promise<Response>((resolve) => {
      answerSlowOne = () => resolve(new Response('{}'));
    });
    const api = fakeTuvensApi((sent) =>
      statusesOf([sent], 7)[0] === 'setup' ? slowAnswer : new Response('{}'),
    );
    const outbox = worker(api.fetch);
    outbox.start();
    try {
      await enqueue(7, 'setup');
      await enqueue(7, 'active');
      outbox.wake();
      await expect.poll(() => api.statuses(7)).toEqual(['setup']);
      // Queued after the slow one went out: delivered while it still waits, in its own event's order.
      await enqueue(8, 'setup');
      await enqueue(8, 'active');
      outbox.wake();
      await expect.poll(() => api.statuses(8)).toEqual(['setup', 'active']);
      expect(api.statuses(7)).toEqual(['setup']);

      answerSlowOne();
      await expect.poll(() => api.statuses(7)).toEqual(['setup', 'active']);
      await expect.poll(() => countMessages(database.db)).toMatchObject({ pending: 0, delivered: 4 });
    } finally {
      answerSlowOne();
      await outbox.stop();
    }
  });

  it('keeps delivering in the background, woken as soon as something is queued', async () => {
    const api = fakeTuvensApi();
    // It looks for work on its own only every ten minutes: within this test, only a wake-up delivers.
    const outbox = worker(api.fetch, loadConfig({ ...environment, DELIVERY_POLL_INTERVAL_MS: '600000' }));
    outbox.start();
    try {
      // Asleep first: while it still made its first look for work, it would find the message unwoken.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await enqueue(6, 'setup');
      outbox.wake();
      await expect.poll(() => api.statuses(6), { timeout: 5_000 }).toEqual(['setup']);
      await expect.poll(() => countMessages(database.db)).toMatchObject({ pending: 0, delivered: 1 });
      // Asleep again once nothing is due; the next message too goes out as soon as it is queued.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await enqueue(6, 'active');
      outbox.wake();
      await expect.poll(() => api.statuses(6), { timeout: 5_000 }).toEqual(['setup', 'active']);
    } finally {
      await outbox.stop();
    }
  });
});
