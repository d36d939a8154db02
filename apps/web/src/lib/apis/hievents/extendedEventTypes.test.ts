import { HI_EVENTS_WIDGET_PATH } from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import {
  hiEventsWidgetPath,
  hiEventsWidgetSrc,
  liveSnapshot,
  safeHttpUrl,
  snapshotOfEvent,
  snapshotOfUpdate,
  type TicketingSnapshot,
} from './extendedEventTypes.ts';

const setup: TicketingSnapshot = {
  status: 'setup',
  hiEventsEventId: null,
  hiEventsEventUrl: null,
  changedAt: Date.parse('2026-11-23T10:00:00Z'),
};

describe('ticketing snapshots', () => {
  it('the widget path is the one the contracts name', () => {
    expect(hiEventsWidgetPath(7)).toBe(HI_EVENTS_WIDGET_PATH(7));
  });

  it('an event that never changed counts as the oldest news', () => {
    const snapshot = snapshotOfEvent({
      id: 1,
      title: 'Concert',
      ticketing_status: 'none',
      hi_events_event_id: null,
      hi_events_event_url: null,
      contactData: {},
    });
    expect(snapshot.changedAt).toBe(0);
  });

  it('a live update reads the Hi.Events event id from its public URL', () => {
    const update = snapshotOfUpdate(
      {
        type: 'ticketing_status_changed',
        eventId: 1,
        status: 'active',
        hiEventsEventUrl: 'https://tickets.example/event/42/summer-concert',
        timestamp: '2026-11-23T10:05:00Z',
      },
      setup,
    );
    expect(update).toMatchObject({ status: 'active', hiEventsEventId: 42 });
  });

  it('a live update wins over the page’s data unless it is older', () => {
    const event = {
      id: 1,
      title: 'Concert',
      ticketing_status: 'active' as const,
      hi_events_event_id: 7,
      hi_events_event_url: 'https://tickets.example/event/7/x',
      contactData: { hiEventsLastUpdated: '2026-11-23T10:00:00.000Z' },
    };
    const update = (status: 'setup' | 'inactive', timestamp: string) => ({
      type: 'ticketing_status_changed' as const,
      eventId: 1,
      status,
      hiEventsEventUrl: null,
      timestamp,
    });
    expect(liveSnapshot(event, update('setup', '2026-11-23T09:59:00.000Z')).status).toBe('active');
    expect(liveSnapshot(event, update('inactive', '2026-11-23T10:00:00.000Z')).status).toBe('inactive');
    expect(liveSnapshot(event, update('inactive', '2026-11-23T10:01:00.000Z'))).toMatchObject({
      status: 'inactive',
      hiEventsEventId: 7,
      hiEventsEventUrl: 'https://tickets.example/event/7/x',
    });
  });

  it('only http and https URLs become links', () => {
    expect(safeHttpUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeHttpUrl('https://tickets.example/event/1/x')).toBe('https://tickets.example/event/1/x');
  });

  it('the widget loads from the origin of the event’s Hi.Events URL, else the configured site', () => {
    const withUrl = { ...setup, hiEventsEventId: 7, hiEventsEventUrl: 'https://tickets.example/event/7/x' };
    expect(hiEventsWidgetSrc(withUrl, 'http://localhost:4200', 'frame-1')).toBe(
      'https://tickets.example/widget/7?iframeId=frame-1',
    );
    expect(hiEventsWidgetSrc({ ...withUrl, hiEventsEventUrl: null }, 'http://localhost:4200/', 'f')).toBe(
      'http://localhost:4200/widget/7?iframeId=f',
    );
  });
});
