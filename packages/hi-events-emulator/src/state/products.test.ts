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

  /** A live event with a subscribed webhook and one ticket type. */
  const liveEventWithTicket = async (product: Record<string, unknown>) => {
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
    const created = await call('POST', `/api/events/${eventId}/products`, product, token);
    expect(created.status).toBe(201);
    return {
      token,
      eventId,
      productId: created.body.data.id as number,
      secret: webhook.body.data.secret as string,
    };
  };

  it('answers the public event only while live, with its products in a category as ProductResourcePublic', async () => {
    const { token, eventId, productId } = await liveEventWithTicket({
      title: 'General admission',
      type: 'PAID',
      prices: [{ price: 25, initial_quantity_available: 2 }],
      show_quantity_remaining: true,
    });
    expect((await call('GET', `/api/public/events/${eventId}`)).status).toBe(404);
    await call('PUT', `/api/events/${eventId}/status`, { status: 'LIVE' }, token);

    const answer = await call('GET', `/api/public/events/${eventId}`);
    expect(answer.status).toBe(200);
    const parsed = HiEventsPublicEvent.parse(answer.body.data);
    expect(answer.body.data.products).toBeUndefined();
    expect(parsed.product_categories?.[0]?.products?.[0]).toMatchObject({
      id: productId,
      type: 'PAID',
      product_type: 'TICKET',
      quantity_available: 2,
      is_sold_out: false,
      prices: [
        {
          id: productId,
          price: 25,
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
      order_items: [{ product_id: productId, quantity: 2 }],
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
