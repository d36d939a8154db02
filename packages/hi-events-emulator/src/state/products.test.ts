import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HiEventsPublicEvent } from '@tuvens/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator.ts';

describe('the emulator’s ticket types, orders and public event', () => {
  let now = new Date('2026-06-01T10:00:00Z');
  let emulator: RunningEmulator;
  const received: { headers: Record<string, unknown>; body: string }[] = [];
  /** How long the receiver takes to answer a webhook. */
  let answerAfterMs = 0;
  let receiverUrl = '';
  let closeReceiver: () => Promise<void>;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', clock: () => now, logger: false });
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        setTimeout(() => response.end('ok'), answerAfterMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    closeReceiver = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(async () => {
    await emulator.close();
    await closeReceiver();
  });

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const response = await fetch(`${emulator.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  /** An event (a draft) with a subscribed webhook and one ticket type, a TICKET of type PAID unless given. */
  const liveEventWithTicket = async (product: Record<string, unknown>, taxesAndFees: unknown[] = []) => {
    const email = `owner-${Math.random()}@example.test`;
    const registered = await fetch(`${emulator.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        first_name: 'Olivia',
        email,
        password: 'long-password',
        password_confirmation: 'long-password',
      }),
    });
    const token = registered.headers.get('x-auth-token')!;
    const organizer = await call(
      'POST',
      '/api/organizers',
      { name: 'Org', email, timezone: 'UTC', currency: 'EUR' },
      token,
    );
    const event = await call(
      'POST',
      '/api/events',
      { title: 'Harbour Lights', organizer_id: organizer.body.data.id, start_date: '2026-06-20T18:00:00Z' },
      token,
    );
    const eventId = event.body.data.id as number;
    const webhook = await call(
      'POST',
      `/api/events/${eventId}/webhooks`,
      { url: receiverUrl, event_types: ['product.created', 'order.created'] },
      token,
    );
    const accountId = (await call('GET', '/api/users/me', undefined, token)).body.data.account_id as number;
    const taxAndFeeIds: number[] = [];
    for (const taxOrFee of taxesAndFees) {
      const made = await call('POST', `/api/accounts/${accountId}/taxes-and-fees`, taxOrFee, token);
      expect(made.status).toBe(200);
      taxAndFeeIds.push(made.body.data.id);
    }
    const created = await call(
      'POST',
      `/api/events/${eventId}/products`,
      {
        type: 'PAID',
        product_type: 'TICKET',
        product_category_id: eventId,
        ...(taxAndFeeIds.length > 0 ? { tax_and_fee_ids: taxAndFeeIds } : {}),
        ...product,
      },
      token,
    );
    expect(created.status).toBe(201);
    return {
      token,
      accountId,
      eventId,
      productId: created.body.data.id as number,
      priceIds: (created.body.data.prices as { id: number }[]).map((price) => price.id),
      secret: webhook.body.data.secret as string,
    };
  };

  it('answers the public event only while live, with its products in a category as ProductResourcePublic', async () => {
    const { token, eventId, productId, priceIds } = await liveEventWithTicket({
      title: 'General admission',
      type: 'PAID',
      prices: [{ price: 25, initial_quantity_available: 2 }],
      show_quantity_remaining: true,
    });
    expect((await call('GET', `/api/public/events/${eventId}`)).status).toBe(404);
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);

    const answer = await call('GET', `/api/public/events/${eventId}`);
    expect(answer.status).toBe(200);
    expect(HiEventsPublicEvent.safeParse(answer.body.data).success).toBe(true);
    expect(answer.body.data.products).toBeUndefined();
    expect(answer.body.data.product_categories[0].products[0]).toMatchObject({
      id: productId,
      type: 'PAID',
      product_type: 'TICKET',
      quantity_available: 2,
      is_sold_out: false,
      price: 25,
      taxes: [],
      prices: [
        {
          id: priceIds[0],
          label: null,
          price: 25,
          tax_total: 0,
          fee_total: 0,
          price_including_taxes_and_fees: 25,
          quantity_remaining: 2,
          is_sold_out: false,
        },
      ],
    });
  });

  it('selling the last tickets sends a signed order.created with the order and makes the ticket sold out', async () => {
    const { token, eventId, productId, secret } = await liveEventWithTicket({
      title: 'General admission',
      prices: [{ price: 25, initial_quantity_available: 2 }],
    });
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    received.length = 0;

    const sold = await call('POST', `/api/_emulator/events/${eventId}/orders`, {
      product_id: productId,
      quantity: 2,
    });
    expect(sold.status).toBe(201);
    await emulator.webhooks.idle();
    const orderHook = received.find((hook) => JSON.parse(hook.body).event_type === 'order.created')!;
    expect(orderHook.headers.signature).toBe(
      createHmac('sha256', secret).update(orderHook.body).digest('hex'),
    );
    expect(JSON.parse(orderHook.body).payload).toMatchObject({
      event_id: eventId,
      status: 'COMPLETED',
      total_gross: 50,
      total_tax: 0,
      total_fee: 0,
      taxes_and_fees_rollup: [],
      order_items: [{ product_id: productId, quantity: 2, price: 25, item_name: 'General admission' }],
    });

    const product = (await call('GET', `/api/public/events/${eventId}`)).body.data.product_categories[0]
      .products[0];
    expect(product).toMatchObject({ is_sold_out: true, is_available: false });
    // Quantities are hidden unless the organizer shows them.
    expect(product.quantity_available).toBeUndefined();
    expect(product.prices[0].quantity_remaining).toBeUndefined();
    const more = await call('POST', `/api/_emulator/events/${eventId}/orders`, {
      product_id: productId,
      quantity: 1,
    });
    expect(more.status).toBe(422);
  });

  it('sends an order’s webhook within the order’s request, as Hi.Events does: answered before the order is', async () => {
    const { token, eventId, productId } = await liveEventWithTicket({
      title: 'General admission',
      prices: [{ price: 25, initial_quantity_available: 5 }],
    });
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    received.length = 0;
    answerAfterMs = 300;
    try {
      const startedAt = Date.now();
      const sold = await call('POST', `/api/_emulator/events/${eventId}/orders`, {
        product_id: productId,
        quantity: 1,
      });
      expect(sold.status).toBe(201);
      expect(received.map((hook) => JSON.parse(hook.body).event_type)).toEqual(['order.created']);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    } finally {
      answerAfterMs = 0;
    }
  });

  it('a sales window not yet open shows as before the sale start, and refuses sales', async () => {
    const { token, eventId, productId } = await liveEventWithTicket({
      title: 'Early bird',
      prices: [{ price: 15 }],
      sale_start_date: '2026-06-05T10:00:00Z',
    });
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    const product = (await call('GET', `/api/public/events/${eventId}`)).body.data.product_categories[0]
      .products[0];
    expect(product).toMatchObject({
      is_before_sale_start_date: true,
      sale_start_date: '2026-06-05 10:00:00',
    });
    expect(
      (await call('POST', `/api/_emulator/events/${eventId}/orders`, { product_id: productId })).status,
    ).toBe(422);
    now = new Date('2026-06-05T10:00:01Z');
    expect(
      (await call('POST', `/api/_emulator/events/${eventId}/orders`, { product_id: productId })).status,
    ).toBe(201);
  });

  const VAT = {
    name: 'VAT',
    type: 'TAX',
    calculation_type: 'PERCENTAGE',
    rate: 10,
    is_active: true,
    is_default: false,
  };
  const BOOKING_FEE = {
    name: 'Booking fee',
    type: 'FEE',
    calculation_type: 'FIXED',
    rate: 1.5,
    is_active: true,
    is_default: false,
  };
  const inHours = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();
  const publicProduct = async (eventId: number) =>
    (await call('GET', `/api/public/events/${eventId}`)).body.data.product_categories[0].products[0];

  it('shows a tiered product as ProductResourcePublic does: no single price, each tier with its label, quantity, window and what buyers pay', async () => {
    const { token, eventId, productId, priceIds, accountId } = await liveEventWithTicket(
      {
        title: 'Festival pass',
        type: 'TIERED',
        show_quantity_remaining: true,
        prices: [
          { label: 'Early bird', price: 25, initial_quantity_available: 2 },
          { label: 'Standard', price: 40 },
          { label: 'Late', price: 50, initial_quantity_available: 10, sale_start_date: inHours(48) },
          { label: 'Volunteer', price: 0, initial_quantity_available: 5 },
        ],
      },
      [VAT, BOOKING_FEE],
    );
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);

    const product = await publicProduct(eventId);
    expect(product).not.toHaveProperty('price');
    expect(product).toMatchObject({
      id: productId,
      type: 'TIERED',
      // One tier is unlimited: Constants::INFINITE.
      quantity_available: 999_999_999,
      is_available: true,
      is_sold_out: false,
      taxes: [
        {
          account_id: accountId,
          name: 'VAT',
          description: null,
          calculation_type: 'PERCENTAGE',
          rate: 10,
          is_active: true,
          is_default: false,
          type: 'TAX',
        },
        { name: 'Booking fee', calculation_type: 'FIXED', rate: 1.5, type: 'FEE' },
      ],
    });
    expect(product.prices).toEqual([
      {
        id: priceIds[0],
        label: 'Early bird',
        price: 25,
        sale_start_date: null,
        sale_end_date: null,
        // 25 + 1.50 fee + 10% of 26.50.
        price_including_taxes_and_fees: 29.15,
        price_before_discount: null,
        is_discounted: false,
        tax_total: 2.65,
        fee_total: 1.5,
        is_before_sale_start_date: false,
        is_after_sale_end_date: false,
        is_available: true,
        is_sold_out: false,
        quantity_remaining: 2,
      },
      expect.objectContaining({
        id: priceIds[1],
        label: 'Standard',
        price_including_taxes_and_fees: 45.65,
        tax_total: 4.15,
        fee_total: 1.5,
        quantity_remaining: null,
      }),
      expect.objectContaining({
        id: priceIds[2],
        label: 'Late',
        sale_start_date: inHours(48).slice(0, 19).replace('T', ' '),
        is_before_sale_start_date: true,
        is_available: false,
        price_including_taxes_and_fees: 56.65,
      }),
      // A free tier: nothing charged on it, and no fee total at all.
      expect.objectContaining({
        id: priceIds[3],
        price: 0,
        price_including_taxes_and_fees: 0,
        tax_total: 0,
        fee_total: null,
        is_available: true,
      }),
    ]);
    expect(
      HiEventsPublicEvent.safeParse((await call('GET', `/api/public/events/${eventId}`)).body.data).success,
    ).toBe(true);
  });

  it('an order picks a tier and takes only from its quantity, and order.created carries the taxes and fees', async () => {
    const { token, eventId, productId, priceIds } = await liveEventWithTicket(
      {
        title: 'Festival pass',
        type: 'TIERED',
        show_quantity_remaining: true,
        prices: [
          { label: 'Early bird', price: 25, initial_quantity_available: 2 },
          { label: 'Standard', price: 40, initial_quantity_available: 3 },
          { label: 'Late', price: 50, initial_quantity_available: 10, sale_start_date: inHours(48) },
        ],
      },
      [VAT, BOOKING_FEE],
    );
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    received.length = 0;
    const sell = (body: Record<string, unknown>) =>
      call('POST', `/api/_emulator/events/${eventId}/orders`, { product_id: productId, ...body });

    const sold = await sell({ price_id: priceIds[0], quantity: 2 });
    expect(sold.status).toBe(201);
    expect(sold.body.data).toMatchObject({ product_price_id: priceIds[0], quantity: 2, total_gross: 58.3 });
    await emulator.webhooks.idle();
    const order = JSON.parse(
      received.find((hook) => JSON.parse(hook.body).event_type === 'order.created')!.body,
    ).payload;
    expect(order).toMatchObject({
      total_before_additions: 50,
      total_fee: 3,
      total_tax: 5.3,
      total_gross: 58.3,
      taxes_and_fees_rollup: {
        fees: [{ name: 'Booking fee', rate: 1.5, type: 'FIXED', value: 3 }],
        taxes: [{ name: 'VAT', rate: 10, type: 'PERCENTAGE', value: 5.3 }],
      },
    });
    expect(order.order_items).toEqual([
      {
        id: expect.any(Number),
        order_id: order.id,
        total_before_additions: 50,
        price: 25,
        quantity: 2,
        product_id: productId,
        item_name: 'Festival pass - Early bird',
        price_before_discount: null,
        taxes_and_fees_rollup: order.taxes_and_fees_rollup,
      },
    ]);

    const product = await publicProduct(eventId);
    expect(product).toMatchObject({ is_sold_out: false, is_available: true, quantity_available: 13 });
    expect(product.prices[0]).toMatchObject({
      is_sold_out: true,
      is_available: false,
      quantity_remaining: 0,
    });
    expect(product.prices[1]).toMatchObject({
      is_sold_out: false,
      is_available: true,
      quantity_remaining: 3,
    });

    const refusals = [
      [{ price_id: priceIds[0] }, 'The product Festival pass - Early bird is sold out'],
      [
        { price_id: priceIds[1], quantity: 4 },
        'The maximum number of products available for Festival pass - Standard is 3',
      ],
      [{ price_id: priceIds[2] }, 'Festival pass - Late is not on sale'],
      [{}, 'Price_id must be specified'],
      [{ price_id: 999_999 }, 'Invalid price ID'],
    ] as const;
    for (const [body, message] of refusals) {
      const refused = await sell(body);
      expect(refused.status).toBe(422);
      expect(JSON.stringify(refused.body.errors)).toContain(message);
    }

    expect((await sell({ price_id: priceIds[1], quantity: 3 })).status).toBe(201);
    // Every tier on sale now is sold out and one opens later: Hi.Events' product is neither sold out nor
    // unavailable (ProductDomainObject::isAvailable looks at the product's own window), its tiers say it.
    const later = await publicProduct(eventId);
    expect(later).toMatchObject({ is_sold_out: false, is_available: true, quantity_available: 10 });
    expect(later.prices.map((price: { is_available: boolean }) => price.is_available)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('a tiered product whose every tier is sold out is sold out, and refused as such', async () => {
    const { token, eventId, productId, priceIds } = await liveEventWithTicket({
      title: 'Workshop',
      type: 'TIERED',
      prices: [
        { label: 'Member', price: 10, initial_quantity_available: 1 },
        { label: 'Guest', price: 15, initial_quantity_available: 1 },
      ],
    });
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    for (const priceId of priceIds) {
      const sold = await call('POST', `/api/_emulator/events/${eventId}/orders`, {
        product_id: productId,
        price_id: priceId,
      });
      expect(sold.status).toBe(201);
    }
    const product = await publicProduct(eventId);
    expect(product).toMatchObject({ is_sold_out: true, is_available: false, taxes: [] });
    expect(product).not.toHaveProperty('quantity_available');
    expect(product.prices[0]).not.toHaveProperty('quantity_remaining');
  });

  it('refuses products and taxes that Hi.Events refuses, naming the field', async () => {
    const { token, eventId, accountId } = await liveEventWithTicket({
      title: 'Anything',
      prices: [{ price: 5 }],
    });
    const product = (fields: Record<string, unknown>) =>
      call(
        'POST',
        `/api/events/${eventId}/products`,
        { title: 'Pass', type: 'PAID', product_type: 'TICKET', product_category_id: eventId, ...fields },
        token,
      );
    const refusedOn = async (
      answer: Promise<{ status: number; body: { errors?: object } }>,
      field: string,
    ) => {
      const { status, body } = await answer;
      expect(status).toBe(422);
      expect(Object.keys(body.errors ?? {})).toEqual([field]);
    };
    await refusedOn(
      product({ type: 'TIERED', prices: [{ price: 10 }, { price: 20, label: 'B' }] }),
      'prices.0.label',
    );
    await refusedOn(product({ prices: [{ price: 10 }, { price: 20 }] }), 'prices');
    await refusedOn(product({ prices: [{ price: 10.005 }] }), 'prices.0.price');
    await refusedOn(product({ prices: [{ price: -1 }] }), 'prices.0.price');
    // Laravel's `numeric` takes no null, boolean or blank for a number; a number as text is one.
    await refusedOn(product({ prices: [{ price: null }] }), 'prices.0.price');
    await refusedOn(product({ prices: [{ price: true }] }), 'prices.0.price');
    await refusedOn(product({ prices: [{ price: '' }] }), 'prices.0.price');
    expect((await product({ prices: [{ price: '12.50', label: '  ' }] })).body.data.prices[0]).toMatchObject({
      price: 12.5,
      label: null,
    });
    await refusedOn(product({ type: 'TIERED', prices: [{ price: 5, label: ' ' }] }), 'prices.0.label');
    await refusedOn(product({ type: 'REGISTRATION', prices: [{ price: 5 }] }), 'type');
    await refusedOn(product({ type: undefined, prices: [{ price: 5 }] }), 'type');
    await refusedOn(
      product({ product_category_id: undefined, prices: [{ price: 5 }] }),
      'product_category_id',
    );
    await refusedOn(
      product({ sale_start_date: inHours(10), sale_end_date: inHours(5), prices: [{ price: 5 }] }),
      'sale_end_date',
    );
    await refusedOn(
      product({
        type: 'TIERED',
        sale_start_date: inHours(10),
        prices: [{ label: 'A', price: 5, sale_start_date: inHours(5) }],
      }),
      'prices.0.sale_start_date',
    );
    await refusedOn(
      product({
        type: 'TIERED',
        prices: [{ label: 'A', price: 5, sale_start_date: inHours(5), sale_end_date: inHours(5) }],
      }),
      'prices.0.sale_end_date',
    );
    await refusedOn(product({ prices: [{ price: 5 }], tax_and_fee_ids: [999] }), 'tax_and_fee_ids');
    expect((await product({ product_category_id: eventId + 1000, prices: [{ price: 5 }] })).status).toBe(404);

    const taxes = `/api/accounts/${accountId}/taxes-and-fees`;
    await refusedOn(call('POST', taxes, { ...VAT, rate: 0 }, token), 'rate');
    await refusedOn(call('POST', taxes, { ...VAT, rate: 7.0005 }, token), 'rate');
    await refusedOn(call('POST', taxes, { ...VAT, calculation_type: 'COMPOUND' }, token), 'calculation_type');
    await refusedOn(call('POST', taxes, { ...VAT, is_default: undefined }, token), 'is_default');
    expect((await call('POST', taxes, VAT, token)).status).toBe(200);
    await refusedOn(call('POST', taxes, VAT, token), 'name');
    expect((await call('GET', taxes, undefined, token)).body.data).toHaveLength(1);

    // Another account's tax, and another account's list: not this organizer's.
    const other = await liveEventWithTicket({ title: 'Other', prices: [{ price: 5 }] }, [BOOKING_FEE]);
    expect((await call('POST', taxes, VAT, other.token)).status).toBe(403);
    const otherFee = (
      await call('GET', `/api/accounts/${other.accountId}/taxes-and-fees`, undefined, other.token)
    ).body.data[0].id;
    await refusedOn(product({ prices: [{ price: 5 }], tax_and_fee_ids: [otherFee] }), 'tax_and_fee_ids');
  });

  it('the product.created webhook carries ProductResource with every price and the taxes and fees', async () => {
    received.length = 0;
    const { productId, priceIds } = await liveEventWithTicket(
      {
        title: 'Festival pass',
        type: 'TIERED',
        prices: [
          { label: 'Early bird', price: 25, initial_quantity_available: 2 },
          { label: 'Standard', price: 40 },
        ],
      },
      [BOOKING_FEE],
    );
    await emulator.webhooks.idle();
    const payload = JSON.parse(
      received.find((hook) => JSON.parse(hook.body).event_type === 'product.created')!.body,
    ).payload;
    expect(payload).not.toHaveProperty('price');
    expect(payload).toMatchObject({
      id: productId,
      type: 'TIERED',
      initial_quantity_available: 2,
      quantity_sold: 0,
      taxes_and_fees: [{ name: 'Booking fee', type: 'FEE', calculation_type: 'FIXED', rate: 1.5 }],
      prices: [
        { id: priceIds[0], label: 'Early bird', price: 25, initial_quantity_available: 2, quantity_sold: 0 },
        { id: priceIds[1], label: 'Standard', price: 40, initial_quantity_available: null, quantity_sold: 0 },
      ],
    });
  });

  it('a donation is at least its price: a smaller gift is refused, a larger one is taxed as given', async () => {
    const { token, eventId, productId } = await liveEventWithTicket(
      { title: 'Support the festival', type: 'DONATION', prices: [{ price: 5 }] },
      [{ ...VAT, name: 'Donation VAT' }],
    );
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);
    expect(await publicProduct(eventId)).toMatchObject({
      type: 'DONATION',
      price: 5,
      prices: [{ price: 5, price_including_taxes_and_fees: 5.5, tax_total: 0.5, fee_total: 0 }],
    });
    const give = (body: Record<string, unknown>) =>
      call('POST', `/api/_emulator/events/${eventId}/orders`, { product_id: productId, ...body });
    for (const body of [{}, { price: 4.99 }]) {
      const refused = await give(body);
      expect(refused.status).toBe(422);
      expect(refused.body.errors).toEqual({ price: ['The minimum amount is €5.00'] });
    }
    received.length = 0;
    const given = await give({ price: 20, quantity: 2 });
    expect(given.status).toBe(201);
    expect(given.body.data.total_gross).toBe(44);
    await emulator.webhooks.idle();
    const order = JSON.parse(
      received.find((hook) => JSON.parse(hook.body).event_type === 'order.created')!.body,
    ).payload;
    expect(order).toMatchObject({ total_before_additions: 40, total_tax: 4, total_gross: 44 });
    expect(order.order_items[0]).toMatchObject({ price: 20, quantity: 2, item_name: 'Support the festival' });
  });
});
