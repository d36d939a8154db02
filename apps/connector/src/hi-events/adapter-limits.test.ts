import { loadEmulatorConfig, type RunningEmulator, startEmulator } from '@tuvens/hi-events-emulator';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createHiEventsAdapter, type HiEventsIdentity } from './adapter.ts';

/** The adapter against the limits of a real Hi.Events: its per-user rate limit and its page size. */
describe('the Hi.Events adapter at Hi.Events’ limits', () => {
  let emulator: RunningEmulator;
  let now: Date;
  const waits: number[] = [];

  const start = async (env: Record<string, string> = {}) => {
    now = new Date();
    waits.length = 0;
    emulator = await startEmulator({
      config: loadEmulatorConfig({ NODE_ENV: 'test', EMULATOR_PORT: '0', ...env }),
      port: 0,
      host: '127.0.0.1',
      clock: () => now,
      logger: false,
    });
    const adapter = createHiEventsAdapter({
      config: loadConfig({ NODE_ENV: 'test', HI_EVENTS_URL: emulator.url }),
      clock: () => now,
      // Waiting out a 429 moves the one clock both sides share.
      sleep: async (ms) => {
        waits.push(ms);
        now = new Date(now.getTime() + ms);
      },
    });
    const registered = await adapter.registerAccount({
      firstName: 'Olivia',
      lastName: 'Organizer',
      email: 'olivia@example.test',
      timezone: 'UTC',
      currency: 'EUR',
    });
    const owner: HiEventsIdentity = { ...registered, role: 'ADMIN' };
    const { organizerId } = await adapter.createOrganizer(owner, {
      name: 'Demo',
      email: 'olivia@example.test',
    });
    return { adapter, owner, organizerId };
  };
  afterEach(() => emulator.close());

  it('waits out a 429 for as long as Retry-After says, and then succeeds', async () => {
    const { adapter, owner, organizerId } = await start({ EMULATOR_API_RATE_LIMIT_PER_MINUTE: '3' });
    const event = await adapter.createEvent(owner, {
      organizerId,
      title: 'Concert',
      startsAt: '2026-09-01T18:00:00Z',
      endsAt: '2026-09-01T22:00:00Z',
      tuvensEventId: 1,
    });
    // Three requests of this user in this minute already (organizer, event); the next ones wait.
    for (let i = 0; i < 3; i += 1) {
      expect(await adapter.getEvent(owner, event.id)).toMatchObject({ found: true });
    }
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms > 0 && ms <= 60_000)).toBe(true);
  });

  it('finds the event of a Tuvens event on any page of the organizer’s events', async () => {
    const { adapter, owner, organizerId } = await start();
    for (let tuvensEventId = 1; tuvensEventId <= 130; tuvensEventId += 1) {
      await adapter.createEvent(owner, {
        organizerId,
        title: `Event ${tuvensEventId}`,
        startsAt: '2026-09-01T18:00:00Z',
        endsAt: '2026-09-01T22:00:00Z',
        tuvensEventId,
      });
    }
    for (const tuvensEventId of [1, 65, 130]) {
      const found = await adapter.findEventForTuvensEvent(owner, organizerId, tuvensEventId);
      expect(found?.title, `Tuvens event ${tuvensEventId}`).toBe(`Event ${tuvensEventId}`);
    }
    expect(await adapter.findEventForTuvensEvent(owner, organizerId, 999)).toBeUndefined();
  });
});
