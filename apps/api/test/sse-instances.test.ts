import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newTicketingEvent,
  openUpdatesStream,
  sendStatusWebhook,
  startAnotherInstance,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

describe(`live updates across API instances on one database (${testDatabaseKind})`, () => {
  let first: TestApi;
  let second: TestApi;

  beforeAll(async () => {
    first = await startTestApi();
    second = await startAnotherInstance(first);
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  const newEvent = () => newTicketingEvent(first.database.db, { title: 'Two instances test event' });

  it('carries a change applied on one instance to the SSE clients of another', async () => {
    const stream = openUpdatesStream(second.url);
    try {
      await stream.waitUntilReady();
      const eventId = await newEvent();
      const response = await sendStatusWebhook(
        first,
        statusWebhook({ tuvens_event_id: eventId, status: 'setup' }),
      );
      expect(response.body).toEqual({ applied: true, status: 'setup' });

      const [received] = await stream.waitForChanges(1);
      expect(received!.data).toMatchObject({ eventId, status: 'setup' });
    } finally {
      stream.close();
    }
  });

  it('ends its streams when an instance closes, and their clients resume on another without a gap', async () => {
    const leaving = await startAnotherInstance(first);
    let target = leaving.url;
    const stream = openUpdatesStream(() => target);
    try {
      await stream.waitUntilReady();
      target = second.url;
      await leaving.close();

      const eventId = await newEvent();
      await sendStatusWebhook(first, statusWebhook({ tuvens_event_id: eventId, status: 'setup' }));
      const [missed] = await stream.waitForChanges(1, 10_000);
      expect(missed!.data).toMatchObject({ eventId, status: 'setup' });
      // A change replayed on reconnecting comes before that connection's ready event.
      await stream.waitUntilReady(2);
      expect(stream.readyIds).toHaveLength(2);
    } finally {
      stream.close();
    }
  });
});
