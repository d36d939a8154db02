import {
  NO_TICKETS,
  TICKET_SUMMARY_WEBHOOK_PATH,
  type TicketSummary,
  type TicketSummaryWebhook,
} from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  newTicketingEvent,
  sendStatusWebhook,
  signStatusWebhook,
  startTestApi,
  statusWebhook,
  streamsOf,
  type TestApi,
} from './helpers.ts';

const HOUR_MS = 60 * 60 * 1000;
const ON_SALE: TicketSummary = {
  ...NO_TICKETS,
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 40,
  prices_include_taxes_and_fees: true,
  sales_state: 'on_sale',
};
const SOLD_OUT: TicketSummary = { ...ON_SALE, sales_state: 'sold_out' };

let sent = 0;
function summaryWebhook(
  eventId: number,
  summary: TicketSummary,
  envelope: { id?: string; occurredAt?: Date; hiEventsEventId?: number } = {},
): TicketSummaryWebhook {
  return {
    id: envelope.id ?? `whmsg_summary_${process.pid}_${++sent}`,
    type: 'event.ticket_summary_changed',
    occurred_at: (envelope.occurredAt ?? new Date()).toISOString(),
    data: { tuvens_event_id: eventId, hi_events_event_id: envelope.hiEventsEventId ?? 7, summary },
  };
}

describe(`ticket summary webhook (${testDatabaseKind})`, () => {
  let api: TestApi;
  const streams = streamsOf(() => api.url);

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterEach(streams.closeAll);
  afterAll(() => api.close());

  const send = (payload: unknown, signing?: Parameters<typeof signStatusWebhook>[1]) => {
    const rawBody = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return api.request('POST', TICKET_SUMMARY_WEBHOOK_PATH, {
      body: rawBody,
      headers: signStatusWebhook(rawBody, signing),
    });
  };
  /** A public event linked to Hi.Events event 7 and on sale. */
  const linkedEvent = async () => {
    const eventId = await newTicketingEvent(api.database.db, { title: 'Ticket summary test event' });
    for (const status of ['setup', 'active'] as const) {
      const answer = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: eventId, status }));
      expect(answer.body).toMatchObject({ applied: true });
    }
    return eventId;
  };
  const summaryOf = async (eventId: number) =>
    (await api.request('GET', `/api/events/${eventId}`)).body.ticket_summary;

  it('audits refused signatures once a minute per kind and address, as the status webhook does', async () => {
    const refusals = () =>
      api.database.db
        .selectFrom('audit_log')
        .select(['reason', 'actor'])
        .where('action', '=', 'hi_events.webhook.ticket_summary')
        .where('outcome', '=', 'failure')
        .orderBy('id')
        .execute();
    const before = (await refusals()).length;
    const payload = summaryWebhook(1, ON_SALE);
    for (let attempt = 0; attempt < 25; attempt++) {
      const forged = await send(payload, { secret: 'someone-elses-secret-0123456789abcdef' });
      expect(forged.status).toBe(401);
    }
    expect((await refusals()).slice(before)).toEqual([{ reason: 'invalid_signature', actor: 'anonymous' }]);
  });

  it('stores a summary and returns it with the event, alone and in the list', async () => {
    const eventId = await linkedEvent();
    expect(await summaryOf(eventId)).toBeNull();

    const answer = await send(summaryWebhook(eventId, ON_SALE));
    expect(answer).toMatchObject({ status: 200, body: { applied: true } });
    expect(await summaryOf(eventId)).toEqual(ON_SALE);
    const list = await api.request('GET', '/api/events');
    expect(list.body.events.find((event: { id: number }) => event.id === eventId).ticket_summary).toEqual(
      ON_SALE,
    );
  });

  it('announces a new summary on the updates stream as its own message type, after status changes', async () => {
    const stream = streams.open();
    await stream.waitUntilReady();
    const eventId = await linkedEvent();
    const observed = new Date();
    await send(summaryWebhook(eventId, SOLD_OUT, { occurredAt: observed }));

    const received = await stream.waitForChanges(3);
    expect(received.map((message) => message.data.type)).toEqual([
      'ticketing_status_changed',
      'ticketing_status_changed',
      'ticket_summary_changed',
    ]);
    const logged = await api.database.db
      .selectFrom('ticketing_status_changes')
      .selectAll()
      .where('event_id', '=', eventId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(logged).toMatchObject({ from_status: 'active', to_status: 'active', ticket_summary: SOLD_OUT });
    // Numbered among public changes like a status change: an anonymous stream's ids have no gap.
    expect(received.map((message) => message.id)).toEqual([
      `p${logged.public_seq! - 2}`,
      `p${logged.public_seq! - 1}`,
      `p${logged.public_seq}`,
    ]);
    expect(received[2]).toEqual({
      id: `p${logged.public_seq}`,
      data: { type: 'ticket_summary_changed', eventId, summary: SOLD_OUT, timestamp: observed.toISOString() },
    });
  });

  it('applies a redelivered id once', async () => {
    const eventId = await linkedEvent();
    const webhook = summaryWebhook(eventId, ON_SALE);
    expect((await send(webhook)).body).toEqual({ applied: true });
    expect((await send(webhook)).body).toEqual({ applied: false, reason: 'duplicate' });
    const [first, second] = await Promise.all([
      send(summaryWebhook(eventId, SOLD_OUT, { id: 'whmsg_summary_race' })),
      send(summaryWebhook(eventId, SOLD_OUT, { id: 'whmsg_summary_race' })),
    ]);
    expect([first.body, second.body]).toEqual(
      expect.arrayContaining([{ applied: true }, { applied: false, reason: 'duplicate' }]),
    );
  });

  it('keeps the latest observation: an older summary arriving late is stale', async () => {
    const eventId = await linkedEvent();
    const now = Date.now();
    await send(summaryWebhook(eventId, SOLD_OUT, { occurredAt: new Date(now) }));
    const late = await send(summaryWebhook(eventId, ON_SALE, { occurredAt: new Date(now - 1_000) }));
    expect(late.body).toEqual({ applied: false, reason: 'stale' });
    expect(await summaryOf(eventId)).toEqual(SOLD_OUT);
  });

  it('the same summary again changes nothing and announces nothing', async () => {
    const eventId = await linkedEvent();
    await send(summaryWebhook(eventId, ON_SALE));
    const count = async () =>
      (
        await api.database.db
          .selectFrom('ticketing_status_changes')
          .select('id')
          .where('event_id', '=', eventId)
          .execute()
      ).length;
    const before = await count();
    expect((await send(summaryWebhook(eventId, ON_SALE))).body).toEqual({
      applied: false,
      reason: 'unchanged',
    });
    expect(await count()).toBe(before);
  });

  it('a summary of a Hi.Events event this event is not linked to is stale', async () => {
    const eventId = await linkedEvent();
    const answer = await send(summaryWebhook(eventId, ON_SALE, { hiEventsEventId: 8 }));
    expect(answer.body).toEqual({ applied: false, reason: 'stale' });
    expect(await summaryOf(eventId)).toBeNull();
  });

  it('an event whose ticketing ended at none shows no summary', async () => {
    const event = { id: await newTicketingEvent(api.database.db, { title: 'Abandoned set-up' }) };
    await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: event.id, status: 'setup' }));
    await send(summaryWebhook(event.id, ON_SALE));
    expect(await summaryOf(event.id)).toEqual(ON_SALE);
    await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: event.id, status: 'none' }));
    expect(await summaryOf(event.id)).toBeNull();
  });

  it('refuses what the status webhook refuses: unsigned, wrong secret, stale seed-only, malformed, unknown event', async () => {
    const eventId = await linkedEvent();
    const body = JSON.stringify(summaryWebhook(eventId, ON_SALE));
    const unsigned = await api.request('POST', TICKET_SUMMARY_WEBHOOK_PATH, { body });
    expect(unsigned).toMatchObject({ status: 401, body: { error: { code: 'missing_signature' } } });
    const forged = await send(body, { secret: 'not-the-secret-0123456789abcdef-0123456789' });
    expect(forged).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
    const replayed = await send(
      summaryWebhook(eventId, ON_SALE, { occurredAt: new Date(Date.now() - HOUR_MS) }),
      {
        scheme: 'seed',
      },
    );
    expect(replayed).toMatchObject({ status: 401, body: { error: { code: 'stale_timestamp' } } });

    const inverted = await send(summaryWebhook(eventId, { ...ON_SALE, lowest_price: 50 }));
    expect(inverted.status).toBe(400);
    expect(inverted.body.error.code).toBe('validation_failed');
    expect(inverted.body.error.message).toContain('highest_price');
    expect((await send('{"id":', { messageId: 'whmsg_broken' })).body.error.code).toBe('invalid_json');
    const unknown = await send(summaryWebhook(2_000_000_000, ON_SALE));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'event_not_found' } } });
    expect(await summaryOf(eventId)).toBeNull();
  });
});
