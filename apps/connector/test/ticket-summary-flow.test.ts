import { TICKET_SUMMARY_WEBHOOK_PATH } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { createOffsetClock } from '@tuvens/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { cookiesOf, eventually, startTestConnector, startTestStack, type TestStack } from './helpers.ts';

const HOUR_MS = 60 * 60 * 1000;

/** The fields these tests read from Hi.Events' answers. */
interface HiEventsAnswer {
  id: number;
  account_id?: number;
  prices?: { id: number }[];
}

/** A Tuvens event with ticketing enabled: its Hi.Events event (a draft), and the organizer acting in Hi.Events. */
async function eventWithTicketingEnabled(stack: TestStack, world: ReturnType<typeof createOffsetClock>) {
  const startsAt = new Date(world.clock().getTime() + 14 * 24 * HOUR_MS);
  const created = await stack.api.request('POST', '/api/events', {
    body: {
      title: `Flash sale ${Math.random().toString(36).slice(2, 8)}`,
      starts_at: startsAt.toISOString(),
      ends_at: new Date(startsAt.getTime() + 4 * HOUR_MS).toISOString(),
    },
    headers: { authorization: `Bearer ${stack.organizer}` },
  });
  const tuvensEventId = created.body.id as number;
  const signedIn = await stack.signIn(await stack.generateSessionToken(tuvensEventId), tuvensEventId);
  expect(signedIn.status).toBe(200);
  const hiEventsEventId = signedIn.body.hi_events_event_id as number;
  const cookie = `token=${cookiesOf(signedIn.headers).token!.value}`;
  /** The organizer's request to the Hi.Events API, signed in by the cookie. */
  const hiEvents = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.emulator.url}/api${path}`, {
      method,
      headers: { cookie, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { data: HiEventsAnswer } };
  };
  const publish = async () => {
    const published = await fetch(`${stack.emulator.url}/manage/event/${hiEventsEventId}/status`, {
      method: 'POST',
      headers: { cookie, origin: stack.emulator.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=LIVE',
      redirect: 'manual',
    });
    expect(published.status).toBe(303);
    await stack.emulator.webhooks.idle();
  };
  return { tuvensEventId, hiEventsEventId, hiEvents, publish };
}

/** A Tuvens event with ticketing enabled, one ticket type of `quantity` at `price` (left shown to buyers or not), published. */
async function liveEventWithTickets(
  stack: TestStack,
  world: ReturnType<typeof createOffsetClock>,
  price: number,
  quantity: number,
  showQuantity = false,
) {
  const { tuvensEventId, hiEventsEventId, hiEvents, publish } = await eventWithTicketingEnabled(stack, world);
  const product = await hiEvents('POST', `/events/${hiEventsEventId}/products`, {
    title: 'General admission',
    type: 'PAID',
    product_type: 'TICKET',
    product_category_id: hiEventsEventId,
    prices: [{ price, initial_quantity_available: quantity }],
    show_quantity_remaining: showQuantity,
  });
  expect(product.status).toBe(201);
  await publish();
  return { tuvensEventId, hiEventsEventId, productId: product.body.data.id };
}

/** A buyer completes an order of `quantity` tickets (at one tier, if given); Hi.Events sends order.created. */
async function sell(
  stack: TestStack,
  event: { hiEventsEventId: number; productId: number },
  quantity = 1,
  priceId?: number,
) {
  const sold = await fetch(`${stack.emulator.url}/api/_emulator/events/${event.hiEventsEventId}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ product_id: event.productId, price_id: priceId, quantity }),
  });
  expect(sold.status).toBe(201);
}

describe(`ticket summaries from Hi.Events to tuvens-api (${testDatabaseKind})`, () => {
  let stack: TestStack;
  const world = createOffsetClock();

  const deliverAll = async (connector = stack.connector.connector) => {
    await stack.emulator.webhooks.idle();
    await connector.ticketSummaries.runOnce();
    while ((await connector.outbox.runOnce()) > 0);
  };
  const summaryOnTuvens = async (tuvensEventId: number) =>
    (await stack.api.request('GET', `/api/events/${tuvensEventId}`)).body.ticket_summary;
  const summariesQueued = async (tuvensEventId: number) =>
    (
      await stack.connector.database.db
        .selectFrom('status_outbox')
        .select('id')
        .where('tuvens_event_id', '=', tuvensEventId)
        .where('webhook_path', '=', TICKET_SUMMARY_WEBHOOK_PATH)
        .execute()
    ).length;

  beforeAll(async () => {
    stack = await startTestStack({ clock: world.clock });
  });
  afterAll(() => stack.close());

  it('goes from "from 25" to sold out as tickets are sold, through the real webhooks', async () => {
    const event = await liveEventWithTickets(stack, world, 25, 3, true);
    await deliverAll();
    expect(await summaryOnTuvens(event.tuvensEventId)).toEqual({
      currency: 'USD',
      lowest_price: 25,
      highest_price: 25,
      prices_include_taxes_and_fees: true,
      free: false,
      sales_state: 'on_sale',
      opens_at: null,
      few_left: true,
    });

    await sell(stack, event, 3);
    await stack.emulator.webhooks.idle();
    expect(stack.emulator.webhooks.deliveries.at(-1)).toMatchObject({
      eventType: 'order.created',
      status: 200,
    });
    // At most one summary per event per second: the next derivation waits its turn.
    await deliverAll();
    expect((await summaryOnTuvens(event.tuvensEventId)).sales_state).toBe('on_sale');
    world.advance(1_000);
    await deliverAll();
    expect((await summaryOnTuvens(event.tuvensEventId)).sales_state).toBe('sold_out');
  });

  it('a tiered ticket with a 10% tax and a fixed fee is summarised at what buyers pay, tier by tier, to sold out', async () => {
    const { tuvensEventId, hiEventsEventId, hiEvents, publish } = await eventWithTicketingEnabled(
      stack,
      world,
    );
    const accountId = (await hiEvents('GET', '/users/me')).body.data.account_id!;
    const taxOrFee = async (fields: Record<string, unknown>) => {
      const made = await hiEvents('POST', `/accounts/${accountId}/taxes-and-fees`, {
        is_active: true,
        is_default: false,
        ...fields,
      });
      expect(made.status).toBe(200);
      return made.body.data.id;
    };
    const vat = await taxOrFee({
      name: `VAT ${hiEventsEventId}`,
      type: 'TAX',
      calculation_type: 'PERCENTAGE',
      rate: 10,
    });
    const fee = await taxOrFee({
      name: `Booking fee ${hiEventsEventId}`,
      type: 'FEE',
      calculation_type: 'FIXED',
      rate: 1.5,
    });
    const product = await hiEvents('POST', `/events/${hiEventsEventId}/products`, {
      title: 'Festival pass',
      type: 'TIERED',
      product_type: 'TICKET',
      product_category_id: hiEventsEventId,
      show_quantity_remaining: true,
      tax_and_fee_ids: [vat, fee],
      prices: [
        { label: 'Early bird', price: 25, initial_quantity_available: 2 },
        { label: 'Standard', price: 40, initial_quantity_available: 12 },
      ],
    });
    expect(product.status).toBe(201);
    const [early, standard] = product.body.data.prices!;
    const event = { hiEventsEventId, productId: product.body.data.id };
    await publish();
    await deliverAll();
    // 25 + 1.50 fee + 10% of 26.50 = 29.15; 40 + 1.50 + 10% of 41.50 = 45.65. 14 left: not few.
    expect(await summaryOnTuvens(tuvensEventId)).toEqual({
      currency: 'USD',
      lowest_price: 29.15,
      highest_price: 45.65,
      prices_include_taxes_and_fees: true,
      free: false,
      sales_state: 'on_sale',
      opens_at: null,
      few_left: false,
    });

    // The early-bird tier sells out: what is still offered starts at the standard tier, and 8 are left.
    await sell(stack, event, 2, early!.id);
    await sell(stack, event, 4, standard!.id);
    world.advance(1_000);
    await deliverAll();
    expect(await summaryOnTuvens(tuvensEventId)).toMatchObject({
      lowest_price: 45.65,
      highest_price: 45.65,
      prices_include_taxes_and_fees: true,
      sales_state: 'on_sale',
      few_left: true,
    });

    await sell(stack, event, 8, standard!.id);
    world.advance(1_000);
    await deliverAll();
    expect(await summaryOnTuvens(tuvensEventId)).toMatchObject({
      lowest_price: 29.15,
      highest_price: 45.65,
      sales_state: 'sold_out',
      few_left: false,
    });
  });

  it('a burst of orders for one event is coalesced into a few deliveries that end with the final state', async () => {
    const event = await liveEventWithTickets(stack, world, 40, 200);
    await deliverAll();
    const before = await summariesQueued(event.tuvensEventId);
    const started = Date.now();
    // 200 orders from 10 buyers at once, while the connector derives and delivers in between.
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let index = 0; index < 20; index += 1) {
          await sell(stack, event);
          if (index % 5 === 0) {
            world.advance(250);
            await deliverAll();
          }
        }
      }),
    );
    world.advance(1_000);
    await deliverAll();
    expect((await summaryOnTuvens(event.tuvensEventId)).sales_state).toBe('sold_out');
    const orderWebhooks = stack.emulator.webhooks.deliveries.filter(
      (delivery) => delivery.eventId === event.hiEventsEventId && delivery.eventType === 'order.created',
    );
    expect(orderWebhooks).toHaveLength(200);
    // The world clock moved about 1 s per 4 rounds of delivery, plus the real time taken.
    const worldSeconds = (10 * 4 * 250 + 1_000 + (Date.now() - started)) / 1_000;
    const queued = (await summariesQueued(event.tuvensEventId)) - before;
    expect(queued).toBeGreaterThanOrEqual(1);
    expect(queued).toBeLessThanOrEqual(Math.ceil(worldSeconds) + 1);
  });

  it('the next summary waits a whole interval from tuvens-api acknowledging the one before, not from its derivation', async () => {
    const event = await liveEventWithTickets(stack, world, 15, 1);
    world.advance(1_000);
    await stack.connector.connector.ticketSummaries.runOnce();
    expect(await summariesQueued(event.tuvensEventId)).toBe(1);
    // tuvens-api answers 300 ms after the summary was derived.
    world.advance(300);
    while ((await stack.connector.connector.outbox.runOnce()) > 0);
    expect((await summaryOnTuvens(event.tuvensEventId)).sales_state).toBe('on_sale');

    await sell(stack, event);
    await stack.emulator.webhooks.idle();
    world.advance(700);
    await stack.connector.connector.ticketSummaries.runOnce();
    expect(await summariesQueued(event.tuvensEventId)).toBe(1);
    world.advance(300);
    await deliverAll();
    expect(await summariesQueued(event.tuvensEventId)).toBe(2);
    expect((await summaryOnTuvens(event.tuvensEventId)).sales_state).toBe('sold_out');
  });

  it('requests taken in before a crash are served after the restart, and a lapsed claim is taken again', async () => {
    const event = await liveEventWithTickets(stack, world, 10, 5);
    await deliverAll();
    await sell(stack, event, 2);
    await sell(stack, event, 3);
    await stack.emulator.webhooks.idle();
    world.advance(1_000);
    // A worker claims the derivation and dies before recording it.
    const { claimDueSummaries } = await import('../src/tickets/summary-state.ts');
    const claimed = await claimDueSummaries(stack.connector.database.db, world.clock(), {
      limit: 10,
      leaseMs: 5_000,
    });
    expect(claimed.map((claim) => claim.tuvensEventId)).toContain(event.tuvensEventId);
    await stack.connector.connector.app.close();

    const restarted = await startTestConnector({
      tuvensApiUrl: stack.api.url,
      hiEventsUrl: stack.emulator.url,
      clock: world.clock,
      database: stack.connector.database,
      runBackgroundJobs: true,
      env: { RECONCILE_INTERVAL_S: '0' },
    });
    stack.connector.connector = restarted.connector;
    world.advance(5_000);
    await eventually(async () => (await summaryOnTuvens(event.tuvensEventId))?.sales_state === 'sold_out');
  });
});

describe(`a flash sale at the connector's default webhook limit (${testDatabaseKind})`, () => {
  let stack: TestStack;
  const world = createOffsetClock();
  /** Hi.Events sends one order.created per order, all from its own address, and never retries a refused one. */
  const ORDERS = 1_500;
  const BUYERS = 15;

  beforeAll(async () => {
    const defaults = loadConfig({});
    stack = await startTestStack({
      clock: world.clock,
      connector: {
        env: { RATE_LIMIT_WEBHOOK_PER_MINUTE: String(defaults.rateLimitsPerMinute.webhook) },
      },
    });
  });
  afterAll(() => stack.close());

  it('takes in every order webhook of a sale faster than 20 a second from one Hi.Events host, and ends sold out', async () => {
    const event = await liveEventWithTickets(stack, world, 30, ORDERS);
    await Promise.all(
      Array.from({ length: BUYERS }, async () => {
        for (let index = 0; index < ORDERS / BUYERS; index += 1) await sell(stack, event);
      }),
    );
    await stack.emulator.webhooks.idle();
    const orderWebhooks = stack.emulator.webhooks.deliveries.filter(
      (delivery) => delivery.eventId === event.hiEventsEventId && delivery.eventType === 'order.created',
    );
    expect(orderWebhooks).toHaveLength(ORDERS);
    const refused = orderWebhooks
      .filter((delivery) => delivery.status !== 200)
      .map((delivery) => delivery.status);
    expect(refused).toEqual([]);

    world.advance(1_000);
    await stack.connector.connector.ticketSummaries.runOnce();
    while ((await stack.connector.connector.outbox.runOnce()) > 0);
    const answer = await stack.api.request('GET', `/api/events/${event.tuvensEventId}`);
    expect(answer.body.ticket_summary.sales_state).toBe('sold_out');
  });
});

describe(`the ticket summary worker running on its own (${testDatabaseKind})`, () => {
  let stack: TestStack;
  const world = createOffsetClock();

  beforeAll(async () => {
    stack = await startTestStack({
      clock: world.clock,
      connector: { runBackgroundJobs: true, env: { RECONCILE_INTERVAL_S: '0' } },
    });
  });
  afterAll(() => stack.close());

  const salesState = async (tuvensEventId: number) =>
    (await stack.api.request('GET', `/api/events/${tuvensEventId}`)).body.ticket_summary?.sales_state;

  it('an order while the worker sleeps with nothing to do reaches tuvens-api in about a second, not at its next idle look', async () => {
    const event = await liveEventWithTickets(stack, world, 12, 1);
    await eventually(async () => (await salesState(event.tuvensEventId)) === 'on_sale');
    // Long enough for the worker to have gone to sleep with no request left.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const soldAt = Date.now();
    await sell(stack, event);
    await eventually(async () => (await salesState(event.tuvensEventId)) === 'sold_out', 3_000);
    expect(Date.now() - soldAt).toBeLessThan(2_500);
  });
});
