import { testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent } from '../src/events/events.ts';
import { enableTicketing, sendStatusWebhook, startTestApi, statusWebhook, type TestApi } from './helpers.ts';

describe(`what a signed status webhook may link (${testDatabaseKind})`, () => {
  let api: TestApi;
  const eventOf = async (id: number) => (await api.request('GET', `/api/events/${id}`)).body;

  beforeAll(async () => {
    api = await startTestApi({ env: { HI_EVENTS_PUBLIC_URL: 'https://tickets.example' } });
    await enableTicketing(api.database.db, 1, 2);
  });
  afterAll(() => api.close());

  it('refuses a "View tickets" link that leads anywhere but the Hi.Events site', async () => {
    for (const url of [
      'https://evil.example/event/7/summer-concert',
      'https://tickets.example.evil.example/event/7',
      'http://tickets.example/event/7',
    ]) {
      const sent = await sendStatusWebhook(
        api,
        statusWebhook({ tuvens_event_id: 1, status: 'setup', hi_events_event_url: url }),
      );
      expect(sent.status, url).toBe(400);
      expect(sent.body.error.message, url).toMatch(
        /^data\.hi_events_event_url: must be a page of https:\/\/tickets\.example/,
      );
    }
    expect(await eventOf(1)).toMatchObject({ ticketing_status: 'none', hi_events_event_url: null });
  });

  it('keeps a linked event’s Hi.Events event: a webhook naming another one is refused', async () => {
    const linked = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: 2, status: 'setup' }));
    expect(linked.body).toMatchObject({ applied: true, status: 'setup' });

    const elsewhere = await sendStatusWebhook(
      api,
      statusWebhook({ tuvens_event_id: 2, status: 'active', hi_events_event_id: 99 }),
    );
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error.code).toBe('conflict');
    expect(await eventOf(2)).toMatchObject({
      ticketing_status: 'setup',
      hi_events_event_id: 7,
      hi_events_event_url: 'https://tickets.example/event/7/summer-concert',
    });

    // The same Hi.Events event moves on as before.
    const published = await sendStatusWebhook(api, statusWebhook({ tuvens_event_id: 2, status: 'active' }));
    expect(published.body).toMatchObject({ applied: true, status: 'active' });
  });

  it('links an event only once its organizer enabled ticketing from Tuvens', async () => {
    const start = new Date(Date.now() + 24 * 60 * 60 * 1000);
    const { id } = await createEvent(api.database.db, 1, {
      title: 'Never enabled',
      starts_at: start.toISOString(),
      ends_at: new Date(start.getTime() + 60 * 60 * 1000).toISOString(),
      visibility: 'public',
    });
    const refusalsAudited = () =>
      api.database.db
        .selectFrom('audit_log')
        .select('reason')
        .where('event_id', '=', id)
        .where('outcome', '=', 'failure')
        .execute();
    const link = () => sendStatusWebhook(api, statusWebhook({ tuvens_event_id: id, status: 'setup' }));

    const refused = await link();
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'ticketing_not_started' });
    expect(refused.body.error.message).toMatch(
      new RegExp(`^data\\.tuvens_event_id: ticketing of event ${id}`),
    );
    expect(await eventOf(id)).toMatchObject({ ticketing_status: 'none', hi_events_event_url: null });
    expect(await refusalsAudited()).toEqual([{ reason: 'ticketing_not_started' }]);

    const organizer = await api.login('organizer@tuvens.test');
    const session = await api.request('POST', '/api/cross-app/generate-session', {
      headers: { authorization: `Bearer ${organizer}` },
      body: { eventId: id, appId: 'hi-events' },
    });
    expect(session.status).toBe(200);
    expect((await link()).body).toMatchObject({ applied: true, status: 'setup' });
  });
});
