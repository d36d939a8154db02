import type { TicketingStatus } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SharedReplay } from '../src/realtime/replay.ts';
import { listChanges } from '../src/ticketing/change-log.ts';
import {
  applyChange,
  newTicketingEvent,
  startTestApi,
  streamsOf,
  type TestApi,
  type UpdatesStream,
} from './helpers.ts';

const RESUMING_STREAMS = 25;

describe(`replays shared by streams that resume together (${testDatabaseKind})`, () => {
  let api: TestApi;
  let organizer: string;
  const streams = streamsOf(() => api.url);

  beforeAll(async () => {
    // Every stream here comes from one loopback address, as a storm's clients come from many.
    api = await startTestApi({ env: { SSE_MAX_STREAMS_PER_CLIENT: String(RESUMING_STREAMS * 2) } });
    organizer = await api.login('organizer@tuvens.test');
  });
  afterEach(streams.closeAll);
  afterAll(() => api.close());

  const open = streams.open;
  const newEvent = (visibility: 'public' | 'private' = 'public') =>
    newTicketingEvent(api.database.db, { title: 'Shared replay test event', visibility });
  /** Applies a change and answers its SSE id on streams of public events only (`p12`). */
  const change = async (eventId: number, status: TicketingStatus) =>
    `p${(await logged(eventId, status)).public_seq}`;
  /** Applies a change and answers its numbers: the change-log id and, for a public event's, the public one. */
  const logged = (eventId: number, status: TicketingStatus) => applyChange(api, eventId, status);
  const idsOf = (stream: UpdatesStream) => stream.changes.map((message) => message.id);

  it('gives every stream resuming from one id exactly the changes it missed, once each and in order', async () => {
    const eventId = await newEvent();
    const seen = await change(eventId, 'setup');
    const missed = [
      await change(eventId, 'active'),
      await change(eventId, 'inactive'),
      await change(eventId, 'active'),
    ];

    const resumed = Array.from({ length: RESUMING_STREAMS }, () =>
      open({ query: `?eventIds=${eventId}`, lastEventId: seen }),
    );
    // On PostgreSQL the instance may hear of the last change only after a stream opened; it then comes live.
    await Promise.all(resumed.map((stream) => stream.waitForChanges(missed.length)));
    for (const stream of resumed) expect(idsOf(stream)).toEqual(missed);

    const live = await change(eventId, 'inactive');
    await Promise.all(resumed.map((stream) => stream.waitForChanges(4)));
    for (const stream of resumed) {
      expect(idsOf(stream)).toEqual([...missed, live]);
      expect(stream.changes.map((message) => message.data.status)).toEqual([
        'active',
        'inactive',
        'active',
        'inactive',
      ]);
    }
  });

  it('gives streams resuming at once from other ids, or for other events, their own changes only', async () => {
    const oneEvent = await newEvent();
    const otherEvent = await newEvent();
    const first = await change(oneEvent, 'setup');
    const second = await change(oneEvent, 'active');
    const other = await change(otherEvent, 'setup');
    const third = await change(oneEvent, 'inactive');

    const fromFirst = Array.from({ length: 5 }, () =>
      open({ query: `?eventIds=${oneEvent}`, lastEventId: first }),
    );
    const fromSecond = Array.from({ length: 5 }, () =>
      open({ query: `?eventIds=${oneEvent}`, lastEventId: second }),
    );
    const forOther = Array.from({ length: 5 }, () =>
      open({ query: `?eventIds=${otherEvent}`, lastEventId: first }),
    );
    const forBoth = Array.from({ length: 5 }, () =>
      open({ query: `?eventIds=${otherEvent},${oneEvent}`, lastEventId: first }),
    );
    await Promise.all([
      ...fromFirst.map((stream) => stream.waitForChanges(2)),
      ...fromSecond.map((stream) => stream.waitForChanges(1)),
      ...forOther.map((stream) => stream.waitForChanges(1)),
      ...forBoth.map((stream) => stream.waitForChanges(3)),
    ]);

    for (const stream of fromFirst) expect(idsOf(stream)).toEqual([second, third]);
    for (const stream of fromSecond) expect(idsOf(stream)).toEqual([third]);
    for (const stream of forOther) expect(idsOf(stream)).toEqual([other]);
    for (const stream of forBoth) expect(idsOf(stream)).toEqual([second, other, third]);
  });

  it('never replays a private event’s change to an anonymous stream resuming beside a member’s', async () => {
    const privateEvent = await newEvent('private');
    const before = await logged(await newEvent(), 'setup');
    const secret = await logged(privateEvent, 'setup');
    expect(secret.public_seq).toBeNull();

    const members = Array.from({ length: 5 }, () =>
      open({ lastEventId: before.id, headers: { authorization: `Bearer ${organizer}` } }),
    );
    const strangers = Array.from({ length: 5 }, () => open({ lastEventId: `p${before.public_seq}` }));
    await Promise.all(members.map((stream) => stream.waitForChanges(1)));
    // A public change after the private one: once a stranger has it, it would have had the private one too.
    const publicChange = await logged(await newEvent(), 'setup');
    await Promise.all(
      [...members, ...strangers].map((stream) => stream.waitForChanges(1 + Number(members.includes(stream)))),
    );

    for (const stream of members) expect(idsOf(stream)).toEqual([String(secret.id), String(publicChange.id)]);
    // Numbered among public changes, it follows the one before without a gap where the private one was.
    expect(publicChange.public_seq).toBe(before.public_seq! + 1);
    for (const stream of strangers) expect(idsOf(stream)).toEqual([`p${publicChange.public_seq}`]);
  });

  it('reads the log once for every replay asked alike while a page is shared, and afresh after', async () => {
    const eventId = await newEvent();
    const after = (await logged(eventId, 'setup')).public_seq!;
    const upTo = (await logged(eventId, 'active')).public_seq!;
    let clock = 0;
    const replay = new SharedReplay(api.database.db, { shareMs: 1_000, now: () => clock });
    const query = {
      numbering: 'public' as const,
      after,
      upTo,
      eventIds: [eventId],
      accountIds: [],
      limit: 200,
    };

    const [one, two] = await Promise.all([replay.read(query), replay.read({ ...query })]);
    expect(two).toBe(one);
    expect(one.count).toBe(1);
    expect(one.lastId).toBe(upTo);
    const expected = await listChanges(api.database.db, query);
    expect(expected.map((row) => row.public_seq)).toEqual([upTo]);
    expect(one.frames.toString()).toMatch(
      new RegExp(`^id: p${upTo}\\ndata: \\{"type":"ticketing_status_changed"`),
    );

    clock = 999;
    expect(await replay.read(query)).toBe(one);
    clock = 1_000;
    const fresh = await replay.read(query);
    expect(fresh).not.toBe(one);
    expect(fresh.frames.equals(one.frames)).toBe(true);

    const later = (await logged(eventId, 'inactive')).public_seq!;
    const wider = await replay.read({ ...query, upTo: later });
    expect(wider.count).toBe(2);
    expect(wider.lastId).toBe(later);
  });
});
