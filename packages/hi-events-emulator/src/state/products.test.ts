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
  let receiverUrl = '';
  let closeReceiver: () => Promise<void>;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', clock: () => now, logger: false });
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.end('ok');
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
});
