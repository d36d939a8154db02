import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HI_EVENTS_TOKEN_PRV } from '@tuvens/contracts';
import fc from 'fast-check';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEVELOPMENT_JWT_SECRET, type RunningEmulator, startEmulator } from './emulator.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver that records each request exactly as it arrived and answers `status`, after
 * `delayMs`; `mostAtOnce` is the most requests it was ever answering at the same time.
 */
async function startReceiver(status = 200, delayMs = 0) {
  const received: Received[] = [];
  let answering = 0;
  const counts = { mostAtOnce: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    answering += 1;
    counts.mostAtOnce = Math.max(counts.mostAtOnce, answering);
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      setTimeout(() => {
        answering -= 1;
        response.statusCode = status;
        response.end('ok');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the Hi.Events emulator’s API', () => {
  let now = new Date('2026-06-01T10:00:00Z');
  let emulator: RunningEmulator;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; cookie?: string } = {},
  ) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${emulator.url}/api${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  /** Registers an account with an organizer and one event starting in a day, as the connector would. */
  const setUpEvent = async (email = `owner-${Math.random()}@example.test`) => {
    const registered = await call('POST', '/auth/register', {
      body: {
        first_name: 'Olivia',
        last_name: 'Organizer',
        email,
        password: 'long-password',
        password_confirmation: 'long-password',
      },
    });
    const token = registered.headers.get('x-auth-token')!;
    const organizer = await call('POST', '/organizers', {
      token,
      body: { name: 'Tuvens Demo Events', email, timezone: 'UTC', currency: 'EUR' },
    });
    const event = await call('POST', '/events', {
      token,
      body: {
        title: 'Summer Concert in the Park',
        organizer_id: organizer.body.data.id,
        start_date: '2026-06-02T18:00:00Z',
        end_date: '2026-06-02 22:00:00',
        attributes: [{ name: 'tuvens_event_id', value: '42', is_public: false }],
      },
    });
    return {
      token,
      accountId: registered.body.data.id as number,
      eventId: event.body.data.id as number,
      event: event.body.data,
    };
  };

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', clock: () => now, logger: false });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    now = new Date('2026-06-01T10:00:00Z');
    receiver = await startReceiver();
  });
  afterEach(() => receiver.close());

  it('registers an account and answers its owner’s token, with the claims Hi.Events’ JWT guard requires', async () => {
    const registered = await call('POST', '/auth/register', {
      body: {
        first_name: 'Ada',
        email: 'ada@example.test',
        password: 'long-password',
        password_confirmation: 'long-password',
      },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.data).toMatchObject({ id: expect.any(Number), name: 'Ada' });
    const claims = decodeJwt(registered.headers.get('x-auth-token')!);
    expect(claims).toMatchObject({
      account_id: registered.body.data.id,
      role: 'ADMIN',
      prv: HI_EVENTS_TOKEN_PRV,
    });
    for (const claim of ['iss', 'iat', 'exp', 'nbf', 'sub', 'jti']) expect(claims[claim]).toBeDefined();

    const again = await call('POST', '/auth/register', {
      body: {
        first_name: 'Ada',
        email: 'ADA@example.test',
        password: 'long-password',
        password_confirmation: 'long-password',
      },
    });
    expect(again.status).toBe(422);
    expect(again.body.errors.email).toHaveLength(1);
  });

  it('reads the token from the Authorization header or the `token` cookie, and refuses forged or signed-out tokens', async () => {
    const { token } = await setUpEvent();
    expect((await call('GET', '/users/me', { token })).status).toBe(200);
    expect((await call('GET', '/users/me', { cookie: `token=${token}` })).status).toBe(200);
    expect((await call('GET', '/users/me')).status).toBe(401);

    const claims = decodeJwt(token);
    const forged = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('not-the-secret-of-this-hi-events'));
    expect((await call('GET', '/users/me', { token: forged })).status).toBe(401);
    // jwt-auth's `lock_subject` refuses another model's `prv` but accepts a token without one.
    const otherSubject = await new SignJWT({ ...claims, prv: 'not-the-user-model' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
    expect((await call('GET', '/users/me', { token: otherSubject })).status).toBe(401);
    const { prv: _prv, ...withoutPrv } = claims;
    const noSubjectLock = await new SignJWT(withoutPrv)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
    expect((await call('GET', '/users/me', { token: noSubjectLock })).status).toBe(200);

    const loggedOut = await call('POST', '/auth/logout', { token });
    expect(loggedOut.status).toBe(200);
    expect(loggedOut.body.message).toBe('Logout Successful');
    expect((await call('GET', '/users/me', { token })).status).toBe(401);
  });

  it('keeps accounts apart: organizers → events belong to one account, and another account’s token gets 403', async () => {
    const mine = await setUpEvent();
    const theirs = await setUpEvent();
    expect(mine.event).toMatchObject({
      status: 'DRAFT',
      lifecycle_status: 'UPCOMING',
      slug: 'summer-concert-in-the-park',
      start_date: '2026-06-02T18:00:00.000000Z',
      end_date: '2026-06-02T22:00:00.000000Z',
      attributes: [{ name: 'tuvens_event_id', value: '42', is_public: false }],
    });
    expect((await call('GET', `/events/${mine.eventId}`, { token: theirs.token })).status).toBe(403);
    expect((await call('GET', '/events/999999', { token: mine.token })).status).toBe(404);
    expect((await call('GET', '/events/not-a-number', { token: mine.token })).status).toBe(404);
  });

  it('computes lifecycle_status from the clock on every read', async () => {
    const { token, eventId } = await setUpEvent();
    now = new Date('2026-06-02T19:00:00Z');
    expect((await call('GET', `/events/${eventId}`, { token })).body.data.lifecycle_status).toBe('ONGOING');
    now = new Date('2026-06-03T00:00:00Z');
    expect((await call('GET', `/events/${eventId}`, { token })).body.data.lifecycle_status).toBe('ENDED');
  });

  it('answers a webhook’s secret once, at its creation, and never again', async () => {
    const { token, eventId } = await setUpEvent();
    const created = await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: receiver.url, event_types: ['event.updated', 'event.archived'] },
    });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({
      status: 'ENABLED',
      event_types: ['event.updated', 'event.archived'],
    });
    expect(created.body.data.secret).toMatch(/^[0-9a-f]{32}$/);
    const read = await call('GET', `/events/${eventId}/webhooks/${created.body.data.id}`, { token });
    expect(read.body.data.secret).toBeUndefined();
    const listed = await call('GET', `/events/${eventId}/webhooks`, { token });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.data.secret);
  });

  it('sends webhooks exactly as Hi.Events does: PHP-encoded envelope, bare hex HMAC in Signature, sent once', async () => {
    const { token, eventId } = await setUpEvent();
    const failing = await startReceiver(500);
    const hook = await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: failing.url, event_types: ['event.updated', 'event.archived'] },
    });
    now = new Date('2026-06-01T10:05:00Z');
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'LIVE' } });
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'ARCHIVED' } });
    await emulator.webhooks.idle();

    expect(failing.received).toHaveLength(2);
    const [updated, archived] = failing.received as [Received, Received];
    expect(updated.headers['content-type']).toBe('application/json');
    expect(updated.headers['x-webhook-source']).toBe('Hi.Events');
    expect(updated.headers.signature).toBe(
      createHmac('sha256', hook.body.data.secret).update(updated.body).digest('hex'),
    );
    // PHP's json_encode escapes slashes; the signature covers exactly these bytes.
    expect(updated.body).toContain('"start_date":"2026-06-02T18:00:00.000000Z"');
    expect(updated.body).toContain('"event_sent_at":"2026-06-01T10:05:00+00:00"');
    const envelope = JSON.parse(updated.body);
    expect(envelope).toMatchObject({
      event_type: 'event.updated',
      payload: {
        id: eventId,
        status: 'LIVE',
        lifecycle_status: 'UPCOMING',
        slug: 'summer-concert-in-the-park',
      },
    });
    expect(JSON.parse(archived.body)).toMatchObject({
      event_type: 'event.archived',
      payload: { status: 'ARCHIVED' },
    });
    const log = await call('GET', `/events/${eventId}/webhooks/${hook.body.data.id}`, { token });
    expect(log.body.data.last_response_code).toBe(500);
    await failing.close();
  });

  it('sends an event’s webhooks from the queue, in order, one at a time, after the requests that caused them', async () => {
    const { token, eventId } = await setUpEvent();
    const slow = await startReceiver(200, 150);
    await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: slow.url, event_types: ['event.updated'] },
    });
    for (const status of ['LIVE', 'DRAFT', 'LIVE']) {
      await call('PUT', `/events/${eventId}/status`, { token, body: { status } });
    }
    // The three requests were answered while their webhooks still waited for the queue's one worker.
    expect(slow.received.length).toBeLessThan(3);
    await emulator.webhooks.idle();
    expect(slow.received.map((hook) => JSON.parse(hook.body).payload.status)).toEqual([
      'LIVE',
      'DRAFT',
      'LIVE',
    ]);
    expect(slow.counts.mostAtOnce).toBe(1);
    await slow.close();
  });

  it('escapes slashes and non-ASCII text as PHP’s json_encode does', async () => {
    const { token, eventId } = await setUpEvent();
    await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: receiver.url, event_types: ['event.updated'] },
    });
    emulator.store.events.get(eventId)!.description = 'Doors 18:00/19:00 — café';
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'LIVE' } });
    await emulator.webhooks.idle();
    expect(receiver.received[0]!.body).toContain('"description":"Doors 18:00\\/19:00 \\u2014 caf\\u00e9"');
  });

  it('sends nothing when an event merely ends, and nothing for types a webhook did not ask for', async () => {
    const { token, eventId } = await setUpEvent();
    await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: receiver.url, event_types: ['event.archived'] },
    });
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'LIVE' } });
    now = new Date('2026-06-05T00:00:00Z');
    expect((await call('GET', `/events/${eventId}`, { token })).body.data.lifecycle_status).toBe('ENDED');
    await emulator.webhooks.idle();
    expect(receiver.received).toEqual([]);
  });

  it('can lose a webhook on the way, for tests of what happens then', async () => {
    const { token, eventId } = await setUpEvent();
    await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: receiver.url, event_types: ['event.updated'] },
    });
    emulator.webhooks.dropNext();
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'LIVE' } });
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'DRAFT' } });
    await emulator.webhooks.idle();
    expect(receiver.received.map((request) => JSON.parse(request.body).payload.status)).toEqual(['DRAFT']);
  });

  it('deletes an event: it is gone from the API and the public, and no webhook says so', async () => {
    const { token, eventId } = await setUpEvent();
    await call('POST', `/events/${eventId}/webhooks`, {
      token,
      body: { url: receiver.url, event_types: ['event.updated', 'event.archived'] },
    });
    await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'LIVE' } });
    expect((await call('GET', `/public/events/${eventId}`)).status).toBe(200);
    expect((await call('DELETE', `/events/${eventId}`, { token })).status).toBe(204);
    expect((await call('GET', `/events/${eventId}`, { token })).status).toBe(404);
    expect((await call('GET', `/public/events/${eventId}`)).status).toBe(404);
    await emulator.webhooks.idle();
    expect(receiver.received).toHaveLength(1);
  });

  it('adds a user of another account to this one instead of making a second user with the same email', async () => {
    const first = await setUpEvent('shared@example.test');
    const second = await setUpEvent();
    const added = await call('POST', '/users', {
      token: second.token,
      body: { first_name: 'Olivia', email: 'shared@example.test', role: 'ADMIN' },
    });
    expect(added.status).toBe(201);
    expect(added.body.data.id).toBe(Number(decodeJwt(first.token).sub));
    const again = await call('POST', '/users', {
      token: second.token,
      body: { first_name: 'Olivia', email: 'shared@example.test', role: 'ADMIN' },
    });
    expect(again.status).toBe(422);
  });

  it('answers bad input with a 4xx that names the field, never a 5xx', async () => {
    const { token, eventId } = await setUpEvent();
    const status = await call('PUT', `/events/${eventId}/status`, { token, body: { status: 'PAUSED' } });
    expect(status.status).toBe(422);
    expect(status.body.errors).toHaveProperty('status');
    expect(status.body.error.code).toBe('validation_failed');

    const paths = [
      '/auth/register',
      '/organizers',
      '/events',
      `/events/${eventId}/status`,
      `/events/${eventId}/webhooks`,
      '/users',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.oneof(fc.json(), fc.string()), async (path, body) => {
        const response = await fetch(`${emulator.url}/api${path}`, {
          method: path.endsWith('/status') ? 'PUT' : 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });
});
