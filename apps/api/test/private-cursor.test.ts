import { CHANGES_SEEN_HEADER } from '@tuvens/contracts';
import { openDatabase } from '@tuvens/database';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDatabase } from '../src/database/schema.ts';
import {
  enableTicketing,
  newTicketingEvent,
  openUpdatesStream,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

/** Another API instance on the first one's database (as in sse-instances.test.ts). */
async function startAnotherInstance(first: TestApi): Promise<TestApi> {
  const url = first.database.url;
  if (!url) return startTestApi({ database: first.database });
  const database = Object.assign(await openDatabase<ApiDatabase>({ url }), { url });
  const api = await startTestApi({ database });
  return {
    ...api,
    async close() {
      await api.close();
      await database.close();
    },
  };
}

describe(`cursors that reveal nothing of private events (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
    await enableTicketing(api.database.db, 1);
  });
  afterAll(() => api.close());

  const bearer = (token?: string): Record<string, string> =>
    token ? { authorization: `Bearer ${token}` } : {};
  const changesSeen = async (path: string, token?: string) => {
    const answer = await api.request('GET', path, { headers: bearer(token) });
    expect(answer.status).toBe(200);
    return answer.headers.get(CHANGES_SEEN_HEADER);
  };
  const readyIdOf = async (token?: string) => {
    const stream = openUpdatesStream(api.url, { headers: bearer(token) });
    try {
      await stream.waitUntilReady();
      return stream.readyIds[0]!;
    } finally {
      stream.close();
    }
  };
  /** Sets up ticketing on a new event of the demo account; answers the event's id and the change's numbers. */
  const changeNew = async (visibility: 'public' | 'private') => {
    const eventId = await newTicketingEvent(api.database.db, { title: `A ${visibility} event`, visibility });
    const sent = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: eventId, status: 'setup' }));
    expect(sent.body.applied).toBe(true);
    const logged = await api.database.db
      .selectFrom('ticketing_status_changes')
      .select(['id', 'public_seq'])
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow();
    return { eventId, ...logged };
  };
  const newestLogId = async () =>
    String(
      (
        await api.database.db
          .selectFrom('ticketing_status_changes')
          .select((select) => select.fn.max('id').as('id'))
          .executeTakeFirstOrThrow()
      ).id,
    );

  it('an anonymous cursor does not move when only private events change', async () => {
    await changeNew('public');
    const before = {
      list: await changesSeen('/api/events'),
      event: await changesSeen('/api/events/1'),
      ready: await readyIdOf(),
    };
    expect(before.list).toMatch(/^p[1-9][0-9]*$/);
    expect(before.event).toBe(before.list);
    expect(before.ready).toBe(before.list);

    for (let count = 0; count < 3; count++) await changeNew('private');

    expect(await changesSeen('/api/events')).toBe(before.list);
    expect(await changesSeen('/api/events/1')).toBe(before.event);
    expect(await readyIdOf()).toBe(before.ready);

    // A member of the account sees the private changes, and their cursor (the change log's) moves with them.
    const member = await api.login('member@tuvens.test');
    const newest = await newestLogId();
    expect(await changesSeen('/api/events', member)).toBe(newest);
    expect(await readyIdOf(member)).toBe(newest);
  });

  it('a signed-in viewer of no account is numbered as anyone not signed in', async () => {
    await changeNew('private');
    const attendee = await api.login('attendee@tuvens.test');
    const anonymous = await changesSeen('/api/events');
    expect(await changesSeen('/api/events', attendee)).toBe(anonymous);
    expect(await readyIdOf(attendee)).toBe(anonymous);
  });

  it('an anonymous viewer sees public changes numbered without gaps between private ones, and resumes on another instance with none lost or repeated', async () => {
    const leaving = await startAnotherInstance(api);
    let target = leaving.url;
    const anonymous = openUpdatesStream(() => target);
    const organizer = await api.login('organizer@tuvens.test');
    const member = openUpdatesStream(api.url, { headers: bearer(organizer) });
    try {
      await Promise.all([anonymous.waitUntilReady(), member.waitUntilReady()]);
      const order = ['public', 'private', 'public', 'private', 'private', 'public'] as const;
      const applied = [];
      for (const visibility of order) applied.push(await changeNew(visibility));
      await anonymous.waitForChanges(3);

      // The instance goes away; the client comes back to the other with its Last-Event-ID.
      target = api.url;
      await leaving.close();
      for (const visibility of ['private', 'public', 'private', 'public'] as const) {
        applied.push(await changeNew(visibility));
      }
      await anonymous.waitForChanges(5, 10_000);
      await anonymous.waitUntilReady(2, 10_000);

      const start = Number(anonymous.readyIds[0]!.slice(1));
      const publicChanges = applied.filter((change) => change.public_seq !== null);
      expect(anonymous.changes.map((message) => message.id)).toEqual(
        publicChanges.map((_, index) => `p${start + index + 1}`),
      );
      expect(anonymous.changes.map((message) => message.data.eventId)).toEqual(
        publicChanges.map((change) => change.eventId),
      );
      expect(anonymous.connections.map((connection) => connection.lastEventId)).toEqual([
        null,
        `p${start + 3}`,
      ]);

      // A member hears every change of the account, private ones included, by change-log id.
      const everything = await member.waitForChanges(applied.length);
      expect(everything.map((message) => message.id)).toEqual(applied.map((change) => String(change.id)));
    } finally {
      anonymous.close();
      member.close();
    }
  });

  it('resumes a cursor of the other numbering, as when a viewer joins or leaves an account, without losing a change', async () => {
    const seen = await changeNew('public');
    const hidden = await changeNew('private');
    const shown = await changeNew('public');
    const organizer = await api.login('organizer@tuvens.test');

    // Signed in now, from a public cursor: the private change and the public one after it.
    const member = openUpdatesStream(api.url, {
      headers: bearer(organizer),
      lastEventId: `p${seen.public_seq}`,
    });
    // Public now, from a change-log cursor: the public change after it only.
    const anonymous = openUpdatesStream(api.url, { lastEventId: seen.id });
    try {
      await Promise.all([member.waitUntilReady(), anonymous.waitUntilReady()]);
      expect(member.changes.map((message) => message.id)).toEqual([String(hidden.id), String(shown.id)]);
      expect(anonymous.changes.map((message) => message.id)).toEqual([`p${shown.public_seq}`]);
    } finally {
      member.close();
      anonymous.close();
    }
  });
});
