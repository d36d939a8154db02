import { CHANGES_SEEN_HEADER } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enableTicketing,
  newTicketingEvent,
  openUpdatesStream,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

describe(`cursors that reveal nothing of private events (${testDatabaseKind})`, () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
    await enableTicketing(api.database.db, 1);
  });
  afterAll(() => api.close());

  const changesSeen = async (path: string, token?: string) => {
    const answer = await api.request('GET', path, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    expect(answer.status).toBe(200);
    return Number(answer.headers.get(CHANGES_SEEN_HEADER));
  };
  const readyIdOf = async (token?: string) => {
    const stream = openUpdatesStream(api.url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    try {
      await stream.waitUntilReady();
      return stream.readyIds[0]!;
    } finally {
      stream.close();
    }
  };

  it('an anonymous cursor does not move when only private events change', async () => {
    const privateEvent = {
      id: await newTicketingEvent(api.database.db, { title: 'Board dinner', visibility: 'private' }),
    };
    await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: 1, status: 'setup' }));
    const before = {
      list: await changesSeen('/api/events'),
      event: await changesSeen('/api/events/1'),
      ready: await readyIdOf(),
    };
    expect(before.list).toBeGreaterThan(0);

    for (const status of ['setup', 'active', 'inactive'] as const) {
      const sent = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: privateEvent!.id, status }));
      expect(sent.body.applied).toBe(true);
    }

    expect(await changesSeen('/api/events')).toBe(before.list);
    expect(await changesSeen('/api/events/1')).toBe(before.event);
    expect(await readyIdOf()).toBe(before.ready);

    // A member of the account sees the private changes, and their cursor moves with them.
    const member = await api.login('member@tuvens.test');
    expect(await changesSeen('/api/events', member)).toBe(before.list + 3);
    expect(await readyIdOf(member)).toBe(before.ready + 3);
  });
});
