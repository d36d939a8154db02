import { cookiesOf, restartApi, startTestStack, type TestStack } from '@tuvens/connector/testing';
import { STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountForDeliveries,
  countsOf,
  createTuvensEvent,
  type Handshake,
  openSql,
  pollUntil,
  printSummary,
  readChangeLog,
  readOutbox,
  readReceipts,
  readTicketingStatuses,
  requirePostgres,
  type Sql,
  setHiEventsStatus,
} from './support/index.ts';

const EVENTS = 4;
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_MAX_MS = 60_000;
const OUTAGE_MS = 8 * 60_000;
/** How far the simulated clock moves in one step; the delivery worker catches up after each. */
const STEP_MS = 1_000;
/** When, into the outage, organizers change the events' statuses in Hi.Events. */
const CHANGES: { atMs: number; status: 'LIVE' | 'DRAFT' | 'ARCHIVED' }[] = [
  { atMs: 5_000, status: 'LIVE' },
  { atMs: 45_000, status: 'DRAFT' },
  { atMs: 110_000, status: 'LIVE' },
  { atMs: 230_000, status: 'ARCHIVED' },
  { atMs: 400_000, status: 'LIVE' },
];

/** The longest wait the backoff may choose after a message's n-th failed try (full jitter picks up to it). */
const ceilingAfter = (failures: number) => Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1));

interface Attempt {
  at: number;
  messageId: string;
  eventId: number;
}

describe('tuvens-api unreachable for minutes (simulated clock)', () => {
  // One clock for tuvens-api, Hi.Events and the connector, running with real time plus what the test adds.
  // The standardwebhooks package also judges a signature's timestamp by the system clock, so the
  // simulated clock starts behind real time and ends the outage ahead of it, within 5 minutes of it
  // whenever a delivery gets through.
  let offsetMs = -(OUTAGE_MS / 2 + 90_000);
  const clock = () => new Date(Date.now() + offsetMs);
  const attempts: Attempt[] = [];
  let stack: TestStack;
  let apiSql: Sql;
  let connectorSql: Sql;

  /** The connector's way out, with each delivery try to tuvens-api noted at the simulated time it began. */
  const recordingFetch: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith(STATUS_WEBHOOK_PATH) && typeof init?.body === 'string') {
      const headers = new Headers(init.headers);
      attempts.push({
        at: clock().getTime(),
        messageId: headers.get('webhook-id') ?? '',
        eventId: JSON.parse(init.body).data.tuvens_event_id,
      });
    }
    return fetch(input, init);
  };

  beforeAll(async () => {
    await requirePostgres();
    stack = await startTestStack({
      clock,
      connector: {
        runBackgroundJobs: true,
        fetch: recordingFetch,
        env: {
          DELIVERY_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
          DELIVERY_BACKOFF_MAX_MS: String(BACKOFF_MAX_MS),
          DELIVERY_POLL_INTERVAL_MS: '20',
          RECONCILE_INTERVAL_S: '0',
        },
      },
    });
    apiSql = openSql(stack.api.database.url!);
    connectorSql = openSql(stack.connector.database.url!);
  });

  afterAll(async () => {
    await apiSql?.close();
    await connectorSql?.close();
    await stack?.close();
  });

  /** Whether the worker has tried everything that is due now (only the oldest pending message of an event is ever due). */
  const workerCaughtUp = async () => {
    const [row] = await connectorSql.rows<{ busy: number }>(
      `select count(*)::int as busy from status_outbox due
       where due.status = 'pending'
         and ((due.next_attempt_at <= $1 and (due.claimed_until is null or due.claimed_until <= $1))
              or due.claimed_until > $1)
         and not exists (select 1 from status_outbox earlier
                         where earlier.tuvens_event_id = due.tuvens_event_id
                           and earlier.status = 'pending' and earlier.id < due.id)`,
      [clock()],
    );
    return row!.busy === 0;
  };
  const step = async () => {
    offsetMs += STEP_MS;
    await pollUntil('the delivery worker to catch up with the clock', workerCaughtUp, {
      timeoutMs: 20_000,
      intervalMs: 5,
    });
  };

  it('keeps backing off, never faster than its schedule nor slower than its cap, and delivers everything in order once tuvens-api is back', async () => {
    const events: Handshake[] = [];
    for (let index = 0; index < EVENTS; index++) {
      const eventId = await createTuvensEvent(stack.api.url, stack.organizer, {
        title: `API outage ${index}`,
        startsAt: clock(),
      });
      const signedIn = await stack.signIn(await stack.generateSessionToken(eventId), eventId);
      expect(signedIn.status).toBe(200);
      events.push({
        tuvensEventId: eventId,
        hiEventsEventId: signedIn.body.hi_events_event_id,
        hiEventsToken: cookiesOf(signedIn.headers).token!.value,
        tries: 1,
      });
    }
    await pollUntil('the setup statuses to be delivered', async () =>
      (await readOutbox(connectorSql)).every((message) => message.status === 'delivered'),
    );

    // tuvens-api goes away: its port refuses connections; its database stays as it was.
    await stack.api.app.close();
    const outageStart = clock().getTime();
    const attemptsBefore = attempts.length;
    const pending = [...CHANGES];
    while (clock().getTime() - outageStart < OUTAGE_MS) {
      await step();
      while (pending[0] && clock().getTime() - outageStart >= pending[0].atMs) {
        const { status } = pending.shift()!;
        await Promise.all(events.map((event) => setHiEventsStatus(stack.emulator.url, event, status)));
        await stack.emulator.webhooks.idle();
      }
    }
    const duringOutage = attempts.slice(attemptsBefore);
    const queuedDuringOutage = (await readOutbox(connectorSql)).filter(
      (message) => message.status === 'pending',
    ).length;

    // tuvens-api is back on the same address and database.
    stack.api = await restartApi(stack.api, { clock });
    const recoveredAt = clock().getTime();
    while ((await readOutbox(connectorSql)).some((message) => message.status === 'pending')) {
      if (clock().getTime() - recoveredAt > 3 * BACKOFF_MAX_MS) throw new Error('the outbox did not drain');
      await step();
    }
    const drainedAfterMs = clock().getTime() - recoveredAt;

    // The backoff, judged from every pair of consecutive tries of one message during the outage.
    const triesOf = new Map<string, Attempt[]>();
    for (const attempt of duringOutage)
      triesOf.set(attempt.messageId, [...(triesOf.get(attempt.messageId) ?? []), attempt]);
    const violations: string[] = [];
    const gapsMs: number[] = [];
    for (const [messageId, tries] of triesOf) {
      for (let index = 1; index < tries.length; index++) {
        const gap = tries[index]!.at - tries[index - 1]!.at;
        const ceiling = ceilingAfter(index);
        gapsMs.push(gap);
        if (gap < Math.floor(ceiling / 10) || gap > ceiling + 2 * STEP_MS) {
          violations.push(
            `${messageId} waited ${gap} ms after failure ${index} (allowed ${Math.floor(ceiling / 10)}–${ceiling} ms)`,
          );
        }
      }
    }
    const lastTryBeforeRecovery = Math.max(...duringOutage.map((attempt) => attempt.at));
    const triedMessagesPerEvent = events.map(
      (event) =>
        new Set(
          duringOutage
            .filter((attempt) => attempt.eventId === event.tuvensEventId)
            .map((attempt) => attempt.messageId),
        ).size,
    );

    const outbox = await readOutbox(connectorSql);
    const account = accountForDeliveries(outbox, await readChangeLog(apiSql), await readReceipts(apiSql));
    const statuses = await readTicketingStatuses(
      apiSql,
      events.map((event) => event.tuvensEventId),
    );
    printSummary('api outage', {
      simulatedOutageMinutes: OUTAGE_MS / 60_000,
      queuedDuringOutage,
      triesDuringOutage: duringOutage.length,
      mostTriesOfOneMessage: Math.max(...[...triesOf.values()].map((tries) => tries.length)),
      backoffGapsS: `${Math.min(...gapsMs) / 1000}..${Math.max(...gapsMs) / 1000}`,
      backoffViolations: violations.length,
      messagesTriedPerEvent: triedMessagesPerEvent,
      drainedAfterRecoveryS: drainedAfterMs / 1000,
      ...countsOf(account),
    });

    expect(violations).toEqual([]);
    // It kept trying to the end of the outage: the last try came within one cap of it.
    expect(outageStart + OUTAGE_MS - lastTryBeforeRecovery).toBeLessThanOrEqual(BACKOFF_MAX_MS + 2 * STEP_MS);
    // Only the oldest status of each event was tried; the newer ones waited their turn.
    expect(triedMessagesPerEvent).toEqual(events.map(() => 1));
    // Once tuvens-api was back, everything arrived within one capped wait (the simulated clock also
    // runs with real time, hence the margin), in order, once.
    expect(drainedAfterMs).toBeLessThanOrEqual(BACKOFF_MAX_MS + 10 * STEP_MS);
    expect(account.problems).toEqual([]);
    expect(account.queued).toBe(EVENTS * (1 + CHANGES.length));
    expect(account.appliedOnce).toBe(account.queued);
    expect([...statuses.values()]).toEqual(events.map(() => 'active'));
  });
});
