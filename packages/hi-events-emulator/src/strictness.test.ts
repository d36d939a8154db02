import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HI_EVENTS_TOKEN_PRV } from '@tuvens/contracts';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEVELOPMENT_JWT_SECRET,
  loadEmulatorConfig,
  type RunningEmulator,
  startEmulator,
} from './emulator.ts';

const running: RunningEmulator[] = [];
let now = new Date('2026-06-01T10:00:00Z');

async function start(env: Record<string, string> = {}) {
  const emulator = await startEmulator({
    config: loadEmulatorConfig({ NODE_ENV: 'test', EMULATOR_PORT: '0', ...env }),
    port: 0,
    host: '127.0.0.1',
    clock: () => now,
    logger: false,
  });
  running.push(emulator);
  return emulator;
}

afterEach(async () => {
  now = new Date('2026-06-01T10:00:00Z');
  for (const emulator of running.splice(0)) await emulator.close();
});

function client(emulator: RunningEmulator) {
  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${emulator.url}/api${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const register = async (email: string) => {
    const registered = await call('POST', '/auth/register', {
      body: {
        first_name: 'Olivia',
        email,
        password: 'long-password',
        password_confirmation: 'long-password',
      },
    });
    return {
      status: registered.status,
      token: registered.headers.get('x-auth-token')!,
      accountId: registered.body?.data?.id as number,
    };
  };
  const setUp = async (email = `owner-${Math.random()}@example.test`) => {
    const { token, accountId } = await register(email);
    const organizer = await call('POST', '/organizers', {
      token,
      body: { name: 'Tuvens Demo Events', email, timezone: 'UTC', currency: 'EUR' },
    });
    const event = await call('POST', '/events', {
      token,
      body: { title: 'Concert', organizer_id: organizer.body.data.id, start_date: '2026-06-02T18:00:00Z' },
    });
    return {
      token,
      accountId,
      organizerId: organizer.body.data.id as number,
      eventId: event.body.data.id as number,
    };
  };
  return { call, register, setUp };
}

describe('the emulator is as strict as Hi.Events', () => {
  it('refuses an invited member with 403 and blacklists the token, until an admin sets them ACTIVE', async () => {
    const emulator = await start();
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    const added = await call('POST', '/users', {
      token: owner.token,
      body: { first_name: 'Ivan', email: 'ivan@example.test', role: 'ADMIN' },
    });
    expect(added.status).toBe(201);
    expect(added.body.data.status).toBe('INVITED');
    const invitedToken = await emulator.issueToken({
      userId: added.body.data.id,
      accountId: owner.accountId,
    });

    const refused = await call('GET', `/events/${owner.eventId}`, { token: invitedToken });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('Your account is not active.');
    // The refusal signed the token out: even after activation it stays refused.
    expect((await call('GET', '/users/me', { token: invitedToken })).status).toBe(401);

    const activated = await call('PUT', `/users/${added.body.data.id}`, {
      token: owner.token,
      body: { first_name: 'Ivan', last_name: 'Invited', role: 'ADMIN', status: 'ACTIVE' },
    });
    expect(activated.status).toBe(200);
    expect(activated.body.data.status).toBe('ACTIVE');
    const freshToken = await emulator.issueToken({ userId: added.body.data.id, accountId: owner.accountId });
    expect((await call('GET', `/events/${owner.eventId}`, { token: freshToken })).status).toBe(200);
  });

  it('lets only an admin change members, never to INVITED or SUPERADMIN, and never the owner’s role or status', async () => {
    const emulator = await start();
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    const ownerId = emulator.store.accountUsers.find((row) => row.account_id === owner.accountId)!.user_id;
    const update = (body: Record<string, unknown>, userId = ownerId, token = owner.token) =>
      call('PUT', `/users/${userId}`, {
        token,
        body: { first_name: 'O', last_name: 'O', role: 'ADMIN', status: 'ACTIVE', ...body },
      });
    expect((await update({ status: 'INVITED' })).status).toBe(422);
    expect((await update({ role: 'SUPERADMIN' })).status).toBe(422);
    expect((await update({ role: 'ORGANIZER' })).body.errors.role).toBeDefined();
    expect((await update({ status: 'INACTIVE' })).body.errors.role).toBeDefined();
    const organizer = await call('POST', '/users', {
      token: owner.token,
      body: { first_name: 'Oscar', email: 'oscar@example.test', role: 'ORGANIZER' },
    });
    await update({ role: 'ORGANIZER', status: 'ACTIVE' }, organizer.body.data.id);
    const organizerToken = await emulator.issueToken({
      userId: organizer.body.data.id,
      accountId: owner.accountId,
    });
    expect((await update({}, organizer.body.data.id, organizerToken)).status).toBe(403);
    expect(
      (
        await call('POST', '/users', {
          token: owner.token,
          body: { first_name: 'X', email: 'x@example.test' },
        })
      ).status,
    ).toBe(422);
  });

  it('refuses a token whose iat or nbf lies in its future, by even one second, and one missing a required claim', async () => {
    const emulator = await start();
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    const userId = emulator.store.accountUsers.find((row) => row.account_id === owner.accountId)!.user_id;
    const sign = (claims: Record<string, unknown>) => {
      const jwt = new SignJWT({
        prv: HI_EVENTS_TOKEN_PRV,
        account_id: owner.accountId,
        ...claims,
      }).setProtectedHeader({
        alg: 'HS256',
      });
      return jwt.sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
    };
    const nowS = Math.floor(now.getTime() / 1000);
    const base = { iss: 'x', sub: String(userId), jti: 'a', iat: nowS, nbf: nowS, exp: nowS + 60 };
    expect((await call('GET', '/users/me', { token: await sign(base) })).status).toBe(200);
    expect((await call('GET', '/users/me', { token: await sign({ ...base, iat: nowS + 1 }) })).status).toBe(
      401,
    );
    expect((await call('GET', '/users/me', { token: await sign({ ...base, nbf: nowS + 1 }) })).status).toBe(
      401,
    );
    for (const claim of ['iss', 'iat', 'exp', 'nbf', 'sub', 'jti']) {
      const { [claim]: _left, ...rest } = base as Record<string, unknown>;
      expect((await call('GET', '/users/me', { token: await sign(rest) })).status, claim).toBe(401);
    }
  });

  it('acting as a release before 1.7 refuses the event.* webhook types with 422, and takes the others', async () => {
    const emulator = await start({ EMULATOR_HI_EVENTS_VERSION: '1.6.0' });
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    const refused = await call('POST', `/events/${owner.eventId}/webhooks`, {
      token: owner.token,
      body: {
        url: 'http://127.0.0.1:9/hook',
        event_types: ['event.updated', 'event.archived'],
        status: 'ENABLED',
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors['event_types.0']).toBeDefined();
    const accepted = await call('POST', `/events/${owner.eventId}/webhooks`, {
      token: owner.token,
      body: { url: 'http://127.0.0.1:9/hook', event_types: ['product.created'], status: 'ENABLED' },
    });
    expect(accepted.status).toBe(200);
  });

  it('answers 429 with Retry-After past the per-user limit, and serves the user again when the minute is over', async () => {
    const emulator = await start({ EMULATOR_API_RATE_LIMIT_PER_MINUTE: '5' });
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    now = new Date(now.getTime() + 61_000);
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push(await call('GET', '/users/me', { token: owner.token }));
    expect(statuses.slice(0, 5).map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]!.status).toBe(429);
    expect(Number(statuses[5]!.headers.get('retry-after'))).toBeGreaterThan(0);
    now = new Date(now.getTime() + 60_000);
    expect((await call('GET', '/users/me', { token: owner.token })).status).toBe(200);
  });

  it('pages an organizer’s events: 20 by default, at most 100 a page, with meta.last_page', async () => {
    const emulator = await start();
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    for (let i = 0; i < 120; i += 1) {
      await call('POST', '/events', {
        token: owner.token,
        body: { title: `Event ${i}`, organizer_id: owner.organizerId, start_date: '2026-07-01T18:00:00Z' },
      });
    }
    const first = await call('GET', `/organizers/${owner.organizerId}/events`, { token: owner.token });
    expect(first.body.data).toHaveLength(20);
    const big = await call('GET', `/organizers/${owner.organizerId}/events?per_page=500`, {
      token: owner.token,
    });
    expect(big.body.data).toHaveLength(100);
    expect(big.body.meta).toMatchObject({ per_page: 100, last_page: 2, total: 121 });
    const second = await call('GET', `/organizers/${owner.organizerId}/events?per_page=100&page=2`, {
      token: owner.token,
    });
    expect(second.body.data).toHaveLength(21);
  });

  it('shows a draft event publicly only to a signed-in member of its account', async () => {
    const emulator = await start();
    const { call, setUp } = client(emulator);
    const owner = await setUp();
    const stranger = await setUp();
    expect((await call('GET', `/public/events/${owner.eventId}`)).status).toBe(404);
    expect((await call('GET', `/public/events/${owner.eventId}`, { token: stranger.token })).status).toBe(
      404,
    );
    expect((await call('GET', `/public/events/${owner.eventId}`, { token: owner.token })).status).toBe(200);
  });

  it('registering the email of a user who owns no account makes an account for that user and answers 401', async () => {
    const emulator = await start();
    const { call, setUp, register } = client(emulator);
    const owner = await setUp();
    const invited = await call('POST', '/users', {
      token: owner.token,
      body: { first_name: 'Ivan', email: 'ivan@example.test', role: 'ADMIN' },
    });
    const accountsBefore = emulator.store.accounts.size;
    const attempt = await register('ivan@example.test');
    expect(attempt.status).toBe(401);
    expect(emulator.store.accounts.size).toBe(accountsBefore + 1);
    const orphan = emulator.store.accountUsers.find(
      (row) => row.user_id === invited.body.data.id && row.is_account_owner,
    );
    expect(orphan).toBeDefined();
    expect((await register('ivan@example.test')).status).toBe(422);
  });

  it('keeps users, accounts, events and signed-out tokens in EMULATOR_DATA_DIR across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hi-events-emulator-'));
    try {
      const first = await start({ EMULATOR_DATA_DIR: dataDir });
      const before = client(first);
      const owner = await before.setUp('kept@example.test');
      const signedOut = await first.issueToken({
        userId: first.store.accountUsers.find((row) => row.account_id === owner.accountId)!.user_id,
        accountId: owner.accountId,
      });
      await before.call('POST', '/auth/logout', { token: signedOut });
      await first.close();
      running.splice(running.indexOf(first), 1);

      const second = await start({ EMULATOR_DATA_DIR: dataDir });
      const after = client(second);
      const event = await after.call('GET', `/events/${owner.eventId}`, { token: owner.token });
      expect(event.status).toBe(200);
      expect(event.body.data.title).toBe('Concert');
      expect((await after.call('GET', '/users/me', { token: signedOut })).status).toBe(401);
      const next = await after.setUp('new@example.test');
      expect(next.accountId).toBe(owner.accountId + 1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps tiered products, their sales and the taxes and fees across a restart; reads products kept before prices had ids', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hi-events-emulator-'));
    try {
      const first = await start({ EMULATOR_DATA_DIR: dataDir });
      const before = client(first);
      const owner = await before.setUp('tiers@example.test');
      const fee = await before.call('POST', `/accounts/${owner.accountId}/taxes-and-fees`, {
        token: owner.token,
        body: {
          name: 'Booking fee',
          type: 'FEE',
          calculation_type: 'FIXED',
          rate: 2,
          is_active: true,
          is_default: false,
        },
      });
      const product = await before.call('POST', `/events/${owner.eventId}/products`, {
        token: owner.token,
        body: {
          title: 'Pass',
          type: 'TIERED',
          product_type: 'TICKET',
          product_category_id: owner.eventId,
          tax_and_fee_ids: [fee.body.data.id],
          prices: [
            { label: 'Early', price: 10, initial_quantity_available: 5 },
            { label: 'Late', price: 20, sale_end_date: '2026-06-02T12:00:00Z' },
          ],
        },
      });
      await before.call('PUT', `/events/${owner.eventId}/status`, {
        token: owner.token,
        body: { status: 'LIVE' },
      });
      const [early] = product.body.data.prices;
      await before.call('POST', `/_emulator/events/${owner.eventId}/orders`, {
        body: { product_id: product.body.data.id, price_id: early.id, quantity: 2 },
      });
      const shown = (await before.call('GET', `/public/events/${owner.eventId}`)).body.data;
      await first.close();
      running.splice(running.indexOf(first), 1);

      // The same snapshot, with a product written the way it was before products had several prices.
      const file = join(dataDir, 'state.json');
      const snapshot = JSON.parse(readFileSync(file, 'utf8'));
      const { prices: _prices, tax_and_fee_ids: _taxes, ...bare } = snapshot.products[0];
      snapshot.products.push({
        ...bare,
        id: 99,
        title: 'Old ticket',
        type: 'PAID',
        price: 12.5,
        initial_quantity_available: 4,
        quantity_sold: 1,
      });
      delete snapshot.nextId.price;
      writeFileSync(file, JSON.stringify(snapshot));

      const second = await start({ EMULATOR_DATA_DIR: dataDir });
      const after = client(second);
      const kept = (await after.call('GET', `/public/events/${owner.eventId}`)).body.data;
      expect(kept.product_categories[0].products[0]).toEqual(shown.product_categories[0].products[0]);
      expect(kept.product_categories[0].products[0].prices[1].sale_end_date).toBe('2026-06-02 12:00:00');
      expect(kept.product_categories[0].products[1]).toMatchObject({
        id: 99,
        type: 'PAID',
        price: 12.5,
        taxes: [],
        prices: [{ id: 99, label: null, price: 12.5, is_sold_out: false }],
      });
      const sold = await after.call('POST', `/_emulator/events/${owner.eventId}/orders`, {
        body: { product_id: 99, quantity: 3 },
      });
      expect(sold.status).toBe(201);
      expect(
        (await after.call('POST', `/_emulator/events/${owner.eventId}/orders`, { body: { product_id: 99 } }))
          .status,
      ).toBe(422);
      // New prices are numbered past every kept one.
      const next = await after.call('POST', `/events/${owner.eventId}/products`, {
        token: owner.token,
        body: {
          title: 'New',
          type: 'FREE',
          product_type: 'TICKET',
          product_category_id: owner.eventId,
          prices: [{ price: 0 }],
        },
      });
      expect(next.body.data.prices[0].id).toBe(100);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
