import { HI_EVENTS_TOKEN_PRV } from '@tuvens/contracts';
import { type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import { systemClock } from '@tuvens/server';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import {
  createHiEventsAdapter,
  type HiEventsAdapter,
  HiEventsError,
  type HiEventsIdentity,
} from './adapter.ts';

describe('the Hi.Events adapter, against the emulator', () => {
  let emulator: RunningEmulator;
  let adapter: HiEventsAdapter;
  let owner: HiEventsIdentity;
  let organizerId: number;

  const adapterWith = (fetchImpl: typeof fetch, env: Record<string, string> = {}) =>
    createHiEventsAdapter({
      config: loadConfig({
        NODE_ENV: 'test',
        HI_EVENTS_URL: emulator.url,
        HI_EVENTS_TIMEOUT_MS: '500',
        ...env,
      }),
      clock: systemClock,
      fetch: fetchImpl,
    });

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', logger: false });
    adapter = adapterWith(fetch);
    const registered = await adapter.registerAccount({
      firstName: 'Olivia',
      lastName: 'Organizer',
      email: 'olivia@example.test',
      timezone: 'UTC',
      currency: 'EUR',
    });
    owner = { ...registered, role: 'ADMIN' };
    ({ organizerId } = await adapter.createOrganizer(owner, {
      name: 'Tuvens Demo Events',
      email: 'olivia@example.test',
    }));
  });
  afterAll(() => emulator.close());

  it('registers an account and learns its owner from the token Hi.Events answers', async () => {
    expect(emulator.store.membership(owner.userId, owner.accountId)).toMatchObject({
      role: 'ADMIN',
      is_account_owner: true,
    });
    expect(emulator.store.organizers.get(organizerId)).toMatchObject({
      name: 'Tuvens Demo Events',
      account_id: owner.accountId,
    });
  });

  it('says which field Hi.Events refused', async () => {
    const error = await adapter
      .registerAccount({
        firstName: 'Olivia',
        lastName: null,
        email: 'olivia@example.test',
        timezone: 'UTC',
        currency: 'EUR',
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HiEventsError);
    expect(error).toMatchObject({
      kind: 'refused',
      status: 422,
      fieldErrors: { email: [expect.any(String)] },
    });
  });

  it('creates an event carrying the Tuvens event id privately, and finds it again by that id', async () => {
    const event = await adapter.createEvent(owner, {
      organizerId,
      title: 'Summer Concert in the Park',
      startsAt: '2026-12-07T18:00:00.000Z',
      endsAt: '2026-12-07T22:00:00.000Z',
      tuvensEventId: 42,
    });
    expect(event).toMatchObject({
      status: 'DRAFT',
      lifecycle_status: 'UPCOMING',
      slug: 'summer-concert-in-the-park',
    });
    expect(adapter.eventPageUrl(event)).toBe(`${emulator.url}/event/${event.id}/summer-concert-in-the-park`);
    expect(adapter.ticketSetupUrl(event.id)).toBe(`${emulator.url}/manage/event/${event.id}/products`);
    expect((await adapter.findEventForTuvensEvent(owner, organizerId, 42))?.id).toBe(event.id);
    expect(await adapter.findEventForTuvensEvent(owner, organizerId, 43)).toBeUndefined();

    const publicEvent = await fetch(`${emulator.url}/api/public/events/${event.id}`);
    expect(publicEvent.status).toBe(404);
  });

  it('reads an event now, and a deleted one as not found', async () => {
    const event = await adapter.createEvent(owner, {
      organizerId,
      title: 'Community Tech Meetup',
      startsAt: '2026-12-20T17:00:00.000Z',
      endsAt: '2026-12-20T20:00:00.000Z',
      tuvensEventId: 43,
    });
    expect(await adapter.getEvent(owner, event.id)).toMatchObject({ found: true, event: { id: event.id } });
    emulator.store.deleteEvent(owner, event.id);
    expect(await adapter.getEvent(owner, event.id)).toEqual({ found: false });
  });

  it('registers a webhook and keeps the secret Hi.Events answers only then', async () => {
    const event = await adapter.createEvent(owner, {
      organizerId,
      title: 'Webhooks',
      startsAt: '2026-12-21T17:00:00.000Z',
      endsAt: '2026-12-21T20:00:00.000Z',
      tuvensEventId: 44,
    });
    const webhook = await adapter.createWebhook(
      owner,
      event.id,
      'https://connector.example/webhooks/hi-events/1',
    );
    expect(emulator.store.webhooks.get(webhook.webhookId)).toMatchObject({
      secret: webhook.secret,
      event_types: ['event.updated', 'event.archived'],
      status: 'ENABLED',
    });
  });

  it('adds a user to the account, and signs people in with the claims Hi.Events reads', async () => {
    const { userId } = await adapter.addUser(owner, {
      firstName: 'Adam',
      lastName: null,
      email: 'Adam@Example.test',
      role: 'ADMIN',
    });
    const { token } = await adapter.issueSignInToken({ userId, accountId: owner.accountId, role: 'ADMIN' });
    expect(decodeJwt(token)).toMatchObject({
      sub: String(userId),
      account_id: owner.accountId,
      prv: HI_EVENTS_TOKEN_PRV,
    });
    const me = await fetch(`${emulator.url}/api/users/me`, { headers: { cookie: `token=${token}` } });
    expect((await me.json()).data).toMatchObject({ id: userId, email: 'adam@example.test', role: 'ADMIN' });

    expect(await adapter.signOut(token)).toBe(true);
    expect(
      (await fetch(`${emulator.url}/api/users/me`, { headers: { cookie: `token=${token}` } })).status,
    ).toBe(401);
  });

  it('refuses to act on tokens signed with another secret than Hi.Events’ own', async () => {
    const wrongSecret = adapterWith(fetch, {
      HI_EVENTS_JWT_SECRET: 'not-the-secret-hi-events-uses-0123456789',
    });
    await expect(wrongSecret.getEvent(owner, 1)).rejects.toMatchObject({ kind: 'refused', status: 401 });
  });

  it('calls Hi.Events unreachable on a network error, a timeout, a 5xx or a redirect, and never follows the redirect', async () => {
    const answers: (() => Promise<Response>)[] = [
      async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      },
      () => new Promise<Response>(() => {}),
      async () => new Response('down', { status: 503 }),
      async () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } }),
      async () => new Response('<html>not json</html>', { status: 200 }),
    ];
    for (const [index, answer] of answers.entries()) {
      const calls: RequestInit[] = [];
      const unreachable = adapterWith(((_url: string, init: RequestInit) => {
        calls.push(init);
        if (index === 1) {
          return new Promise((_resolve, reject) =>
            init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
          );
        }
        return answer();
      }) as typeof fetch);
      const error = await unreachable
        .createOrganizer(owner, { name: 'x', email: 'x@example.test' })
        .catch((caught: unknown) => caught);
      expect(error, `answer ${index}`).toBeInstanceOf(HiEventsError);
      expect((error as HiEventsError).kind).toBe(index === 4 ? 'unexpected' : 'unreachable');
      expect(calls[0]!.redirect).toBe('manual');
      expect(calls).toHaveLength(1);
    }
  });
});
