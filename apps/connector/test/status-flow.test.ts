import { signHiEventsSignature } from '@tuvens/contracts/signatures';
import { testDatabaseKind } from '@tuvens/database/testing';
import { createOffsetClock } from '@tuvens/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookiesOf, sendJson, startTestStack, type TestStack } from './helpers.ts';

const HOUR_MS = 60 * 60 * 1000;

describe(`statuses from Hi.Events to tuvens-api (${testDatabaseKind})`, () => {
  let stack: TestStack;
  // One clock for tuvens-api, Hi.Events and the connector, moved ahead when an event must end.
  const world = createOffsetClock();

  /** A new Tuvens event, ticketing enabled through the handshake; answers the ids and the organizer's Hi.Events cookie. */
  const enableTicketing = async (startsInMs = 14 * 24 * HOUR_MS, lastsMs = 4 * HOUR_MS) => {
    const startsAt = new Date(world.clock().getTime() + startsInMs);
    const organizer = await stack.api.login('organizer@tuvens.test');
    const created = await stack.api.request('POST', '/api/events', {
      body: {
        // A slash and an accent, which PHP's json_encode escapes: what Hi.Events signs is not what JSON.stringify makes.
        title: `Café concert / ${Math.random().toString(36).slice(2, 8)}`,
        starts_at: startsAt.toISOString(),
        ends_at: new Date(startsAt.getTime() + lastsMs).toISOString(),
      },
      headers: { authorization: `Bearer ${organizer}` },
    });
    const tuvensEventId = created.body.id as number;
    const signedIn = await stack.signIn(
      await stack.generateSessionToken(tuvensEventId, organizer),
      tuvensEventId,
    );
    expect(signedIn.status).toBe(200);
    await deliver();
    return {
      tuvensEventId,
      hiEventsEventId: signedIn.body.hi_events_event_id as number,
      cookie: `token=${cookiesOf(signedIn.headers).token!.value}`,
    };
  };

  /** What an organizer does on the ticket set-up page in Hi.Events: a form post with their cookie. */
  const setStatus = async (
    event: { hiEventsEventId: number; cookie: string },
    status: 'LIVE' | 'DRAFT' | 'ARCHIVED',
  ) => {
    // Hi.Events stamps webhooks to the second; each change here happens in a second of its own.
    world.advance(1_000);
    const response = await fetch(`${stack.emulator.url}/manage/event/${event.hiEventsEventId}/status`, {
      method: 'POST',
      headers: {
        cookie: event.cookie,
        origin: stack.emulator.url,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `status=${status}`,
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    await stack.emulator.webhooks.idle();
  };

  const deliver = async () => {
    while ((await stack.connector.connector.outbox.runOnce()) > 0);
  };
  const reconcile = async () => {
    world.advance(2_000);
    return stack.connector.connector.reconciler.runOnce();
  };
  const tuvensStatus = async (id: number) =>
    (
      await stack.api.database.db
        .selectFrom('events')
        .select('ticketing_status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).ticketing_status;
  const queuedFor = async (id: number) =>
    (
      await stack.connector.database.db
        .selectFrom('status_outbox')
        .select('ticketing_status')
        .where('tuvens_event_id', '=', id)
        .orderBy('id')
        .execute()
    ).map((row) => row.ticketing_status);

  beforeAll(async () => {
    stack = await startTestStack({ clock: world.clock, connector: { env: { RECONCILE_INTERVAL_S: '1' } } });
  });
  afterAll(() => stack.close());

  it('makes the Tuvens event active when it is published in Hi.Events, through the real webhook path', async () => {
    const event = await enableTicketing();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('setup');
    await setStatus(event, 'LIVE');
    expect(stack.emulator.webhooks.deliveries.at(-1)).toMatchObject({
      eventType: 'event.updated',
      status: 200,
    });
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('active');
  });

  it('makes it inactive when archived, inactive when paused back to draft, and active again when republished', async () => {
    const event = await enableTicketing();
    await setStatus(event, 'LIVE');
    await setStatus(event, 'DRAFT');
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('inactive');
    await setStatus(event, 'LIVE');
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('active');
    await setStatus(event, 'ARCHIVED');
    expect(stack.emulator.webhooks.deliveries.at(-1)).toMatchObject({
      eventType: 'event.archived',
      status: 200,
    });
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('inactive');
    expect(await queuedFor(event.tuvensEventId)).toEqual([
      'setup',
      'active',
      'inactive',
      'active',
      'inactive',
    ]);
  });

  it('refuses a tampered Hi.Events webhook, and takes in a redelivered one only once', async () => {
    const event = await enableTicketing();
    await setStatus(event, 'LIVE');
    const original = stack.emulator.webhooks.deliveries.at(-1)!;
    const url = `${stack.connector.url}/webhooks/hi-events/${event.hiEventsEventId}`;
    const signature = signHiEventsSignature(
      original.body,
      stack.emulator.store.webhooks.get(original.webhookId)!.secret,
    );
    const post = (body: string, headers: Record<string, string>) =>
      sendJson(url, 'POST', { body, headers: { 'x-webhook-source': 'Hi.Events', ...headers } });

    // Kept sealed: the database alone does not give away what signs Hi.Events' webhooks.
    const [stored] = await stack.connector.database.db
      .selectFrom('event_links')
      .select('webhook_secret')
      .where('tuvens_event_id', '=', event.tuvensEventId)
      .execute();
    const secret = stack.emulator.store.webhooks.get(original.webhookId)!.secret;
    expect(stored?.webhook_secret).toMatch(/^v1\./);
    expect(stored?.webhook_secret).not.toContain(secret);

    const tampered = original.body.replace('"status":"LIVE"', '"status":"ARCHIVED"');
    expect(tampered).not.toBe(original.body);
    const refused = await post(tampered, { signature });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('invalid_signature');
    expect(
      (await post(original.body, { signature: signHiEventsSignature(original.body, 'another-secret') }))
        .status,
    ).toBe(401);
    expect((await post(original.body, {})).status).toBe(401);
    // The same bytes re-serialized are not what Hi.Events signed.
    expect((await post(JSON.stringify(JSON.parse(original.body)), { signature })).status).toBe(401);

    expect(await post(original.body, { signature })).toMatchObject({
      status: 200,
      body: { outcome: 'duplicate' },
    });
    await deliver();
    expect(await queuedFor(event.tuvensEventId)).toEqual(['setup', 'active']);
    expect(await tuvensStatus(event.tuvensEventId)).toBe('active');
  });

  it('ignores a webhook older than one already applied', async () => {
    const event = await enableTicketing();
    await setStatus(event, 'LIVE');
    const older = stack.emulator.webhooks.deliveries.at(-1)!;
    const secret = stack.emulator.store.webhooks.get(older.webhookId)!.secret;
    await setStatus(event, 'ARCHIVED');
    // The LIVE webhook turns up after the ARCHIVED one; a space makes its bytes new, so only its older
    // event_sent_at can tell that it is out of date.
    const late = older.body.replace('"event_type":"event.updated"', '"event_type":"event.updated" ');
    const answer = await sendJson(
      `${stack.connector.url}/webhooks/hi-events/${event.hiEventsEventId}`,
      'POST',
      {
        body: late,
        headers: { signature: signHiEventsSignature(late, secret) },
      },
    );
    expect(answer.body.outcome).toBe('stale');
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('inactive');
  });

  it('catches a webhook that never arrived when it re-reads linked events', async () => {
    const event = await enableTicketing();
    stack.emulator.webhooks.dropNext();
    await setStatus(event, 'LIVE');
    expect(stack.emulator.webhooks.deliveries.at(-1)!.dropped).toBe(true);
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('setup');

    expect((await reconcile()).queued).toBeGreaterThanOrEqual(1);
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('active');
  });

  it('catches an event that has ended, of which Hi.Events says nothing', async () => {
    const event = await enableTicketing(HOUR_MS, HOUR_MS);
    await setStatus(event, 'LIVE');
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('active');

    const sentBefore = stack.emulator.webhooks.deliveries.length;
    world.advance(3 * HOUR_MS);
    await reconcile();
    expect(stack.emulator.webhooks.deliveries).toHaveLength(sentBefore);
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('inactive');
    const last = await stack.api.database.db
      .selectFrom('ticketing_status_changes')
      .select(['to_status', 'reason'])
      .where('event_id', '=', event.tuvensEventId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(last).toEqual({ to_status: 'inactive', reason: 'ended' });
  });

  it('catches an event deleted in Hi.Events', async () => {
    const event = await enableTicketing();
    await setStatus(event, 'LIVE');
    const deleted = await fetch(`${stack.emulator.url}/manage/event/${event.hiEventsEventId}/delete`, {
      method: 'POST',
      headers: { cookie: event.cookie, origin: stack.emulator.url },
    });
    expect(deleted.status).toBe(200);
    await reconcile();
    await deliver();
    expect(await tuvensStatus(event.tuvensEventId)).toBe('inactive');
    expect(await queuedFor(event.tuvensEventId)).toEqual(['setup', 'active', 'inactive']);
  });
});
