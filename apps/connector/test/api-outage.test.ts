import { testDatabaseKind } from '@tuvens/database/testing';
import { createOffsetClock } from '@tuvens/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnector } from '../src/app.ts';
import { countMessages } from '../src/outbox/outbox.ts';
import { cookiesOf, restartApi, startTestStack, type TestStack } from './helpers.ts';

describe(`tuvens-api stopped for a while (${testDatabaseKind})`, () => {
  let stack: TestStack;
  // One clock for all three servers. It starts ten minutes behind real time and catches up during the
  // outage, so statuses observed at the start are delivered long after the 5-minute window of a
  // signature made then, while each try's Standard Webhooks timestamp stays near real time.
  const world = createOffsetClock();
  world.advance(-10 * 60_000);

  beforeAll(async () => {
    stack = await startTestStack({
      clock: world.clock,
      connector: {
        env: { DELIVERY_BACKOFF_BASE_MS: '1000', DELIVERY_BACKOFF_MAX_MS: '30000' },
        random: (max) => max,
      },
    });
  });
  afterAll(() => stack.close());

  it('loses nothing: every status arrives, in order, once it is back, across a restart of the connector too', async () => {
    const token = await stack.generateSessionToken(1);
    const signedIn = await stack.signIn(token);
    const cookie = `token=${cookiesOf(signedIn.headers).token!.value}`;
    const hiEventsEventId = signedIn.body.hi_events_event_id as number;

    // tuvens-api goes away, with `setup` still queued.
    await stack.api.app.close();

    const setStatus = async (status: 'LIVE' | 'DRAFT' | 'ARCHIVED') => {
      world.advance(1_000);
      await fetch(`${stack.emulator.url}/manage/event/${hiEventsEventId}/status`, {
        method: 'POST',
        headers: { cookie, origin: stack.emulator.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: `status=${status}`,
        redirect: 'manual',
      });
      await stack.emulator.webhooks.idle();
    };
    let outbox = stack.connector.connector.outbox;
    const tryToDeliver = async () => {
      world.advance(30_000);
      return outbox.runOnce();
    };

    await setStatus('LIVE');
    await tryToDeliver();
    await setStatus('DRAFT');
    await tryToDeliver();
    await setStatus('LIVE');
    await tryToDeliver();

    // The connector restarts during the outage: a new instance over the same database.
    await stack.connector.connector.app.close();
    const restarted = await buildConnector({
      config: stack.connector.config,
      database: stack.connector.database,
      clock: world.clock,
      logger: false,
      runBackgroundJobs: false,
      random: (max) => max,
    });
    outbox = restarted.outbox;
    await restarted.app.listen({ host: '127.0.0.1', port: Number(new URL(stack.connector.url).port) });
    stack.connector.connector = restarted;

    await setStatus('ARCHIVED');
    await tryToDeliver();

    const waiting = await stack.connector.database.db
      .selectFrom('status_outbox')
      .select(['ticketing_status', 'attempts', 'last_error'])
      .where('tuvens_event_id', '=', 1)
      .orderBy('id')
      .execute();
    expect(waiting.map((row) => row.ticketing_status)).toEqual([
      'setup',
      'active',
      'inactive',
      'active',
      'inactive',
    ]);
    expect(waiting[0]!.attempts).toBe(4);
    expect(waiting[0]!.last_error).toBe('ECONNREFUSED');
    // Only the oldest of the event's messages was tried: the rest wait their turn.
    expect(waiting.slice(1).every((row) => row.attempts === 0)).toBe(true);

    // Ten minutes on, tuvens-api is back on the same address and database.
    world.advance(10 * 60_000);
    stack.api = await restartApi(stack.api, { clock: world.clock });
    while ((await countMessages(stack.connector.database.db)).pending > 0) await tryToDeliver();

    const changes = await stack.api.database.db
      .selectFrom('ticketing_status_changes')
      .select(['to_status', 'reason'])
      .where('event_id', '=', 1)
      .orderBy('id')
      .execute();
    expect(changes).toEqual([
      { to_status: 'setup', reason: 'linked' },
      { to_status: 'active', reason: 'published' },
      { to_status: 'inactive', reason: 'unpublished' },
      { to_status: 'active', reason: 'published' },
      { to_status: 'inactive', reason: 'archived' },
    ]);
    expect(await countMessages(stack.connector.database.db)).toEqual({ pending: 0, delivered: 5, dead: 0 });
  });
});
