import {
  EVENT_UPDATES_MAX_EVENT_IDS as CONTRACT_MAX_IDS,
  EVENT_UPDATES_PATH as CONTRACT_PATH,
  type TicketingStatusChanged,
} from '@tuvens/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource, statusChange } from '../../test-fakes.ts';
import {
  EVENT_UPDATES_MAX_EVENT_IDS,
  EVENT_UPDATES_PATH,
  eventUpdates,
  ticketSummaryUpdates,
} from './eventUpdatesStore.ts';

let apiBaseUrl: string;
let testNumber = 0;

beforeEach(() => {
  apiBaseUrl = `http://api-${++testNumber}.test`;
  FakeEventSource.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Subscribes like a component would and collects what it is given. */
function watch(eventId: number, changesSeen?: string) {
  const seen: (TicketingStatusChanged | undefined)[] = [];
  const stop = eventUpdates(apiBaseUrl, eventId, changesSeen).subscribe((update) => seen.push(update));
  return { seen, stop };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

describe('eventUpdatesStore', () => {
  it('listens on the path the contracts name, within their limit of event ids', () => {
    expect(EVENT_UPDATES_PATH).toBe(CONTRACT_PATH);
    expect(EVENT_UPDATES_MAX_EVENT_IDS).toBe(CONTRACT_MAX_IDS);
  });

  it('a page with more events than one filter may name listens to all events', async () => {
    for (let id = 1; id <= EVENT_UPDATES_MAX_EVENT_IDS + 1; id++) watch(id);
    await settle();

    expect(FakeEventSource.current().params.has('eventIds')).toBe(false);
  });

  it('every widget on a page shares one EventSource for all the page’s event ids', async () => {
    watch(2);
    watch(1);
    watch(1);
    await settle();

    expect(FakeEventSource.instances).toHaveLength(1);
    const stream = FakeEventSource.current();
    expect(stream.url.startsWith(`${apiBaseUrl}${EVENT_UPDATES_PATH}?`)).toBe(true);
    expect(stream.params.get('eventIds')).toBe('1,2');
  });

  it('hands each update to the subscribers of its event only, and the latest to late subscribers', async () => {
    const one = watch(1);
    const two = watch(2);
    await settle();
    FakeEventSource.current().send(statusChange(1, 'setup', '2026-11-23T10:00:00Z'), 'p7');

    expect(one.seen.at(-1)).toMatchObject({ eventId: 1, status: 'setup' });
    expect(two.seen).toEqual([undefined]);
    expect(watch(1).seen).toEqual([expect.objectContaining({ status: 'setup' })]);
  });

  it('hands status changes and ticket summaries of an event each to their own subscribers, on one stream', async () => {
    const statuses = watch(1);
    const summaries: unknown[] = [];
    ticketSummaryUpdates(apiBaseUrl, 1).subscribe((update) => summaries.push(update));
    await settle();
    expect(FakeEventSource.instances).toHaveLength(1);
    const summary = {
      type: 'ticket_summary_changed',
      eventId: 1,
      summary: { sales_state: 'sold_out' },
      timestamp: 'x',
    };
    FakeEventSource.current().send(summary, 'p8');
    FakeEventSource.current().send(statusChange(1, 'inactive', '2026-11-23T10:00:00Z'), 'p9');

    expect(summaries).toEqual([undefined, summary]);
    expect(statuses.seen).toEqual([undefined, expect.objectContaining({ status: 'inactive' })]);
    const late: unknown[] = [];
    ticketSummaryUpdates(apiBaseUrl, 1).subscribe((update) => late.push(update));
    expect(late).toEqual([summary]);
  });

  it('when the page’s set of events changes, reopens once with the last event id seen', async () => {
    const one = watch(1);
    await settle();
    const first = FakeEventSource.current();
    first.send(statusChange(1, 'setup', '2026-11-23T10:00:00Z'), 'p41');

    one.stop();
    watch(3);
    await settle();

    expect(first.readyState).toBe(FakeEventSource.CLOSED);
    const second = FakeEventSource.current();
    expect(second.params.get('eventIds')).toBe('3');
    expect(second.params.get('lastEventId')).toBe('p41');
  });

  it('resumes from where the stream stood even when no change has arrived yet', async () => {
    const one = watch(1);
    await settle();
    FakeEventSource.current().ready('p57');

    one.stop();
    watch(2);
    await settle();

    expect(FakeEventSource.current().params.get('lastEventId')).toBe('p57');
  });

  it('opens after the change its page data reflects, so a change made meanwhile is replayed', async () => {
    watch(1, 'p30');
    watch(2, 'p28');
    watch(3, 'p100');
    await settle();
    expect(FakeEventSource.current().params.get('lastEventId')).toBe('p28');
  });

  it('goes back as far as a joining event’s page data when that is older than the stream', async () => {
    const one = watch(1, 'p30');
    await settle();
    FakeEventSource.current().ready('p45');

    one.stop();
    watch(2, 'p40');
    await settle();
    expect(FakeEventSource.current().params.get('lastEventId')).toBe('p40');

    watch(2, 'p12');
    await settle();
    expect(FakeEventSource.instances).toHaveLength(2);
  });

  it('resumes from the newer id when two cannot be compared, as after signing in, and ignores ids it cannot read', async () => {
    const one = watch(1, 'p30');
    await settle();
    FakeEventSource.current().ready('p45');

    // Signed in as a member meanwhile: the page's data counts by change-log id.
    one.stop();
    watch(2, '812');
    watch(3, 'not-an-id');
    await settle();
    expect(FakeEventSource.current().params.get('lastEventId')).toBe('812');
  });

  it('closes the stream when nothing on the page listens any more', async () => {
    const { stop } = watch(1);
    await settle();
    stop();
    await settle();

    expect(FakeEventSource.open).toHaveLength(0);
  });

  it('when the browser gives up on the stream, reopens it after a pause, resuming from the last id', async () => {
    watch(1);
    await settle();
    const first = FakeEventSource.current();
    first.connect();
    first.send(statusChange(1, 'active', '2026-11-23T10:00:00Z'), 'p90');
    first.giveUp();
    expect(FakeEventSource.open).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(1_000);

    const second = FakeEventSource.current();
    expect(second.params.get('lastEventId')).toBe('p90');
  });

  it('ignores messages that are not ticketing updates', async () => {
    const { seen } = watch(1);
    await settle();
    const stream = FakeEventSource.current();
    stream.send('not json', '1');
    stream.send({ type: 'something_else', eventId: 1 }, '2');
    stream.send({ ...statusChange(1, 'active', '2026-11-23T10:00:00Z'), status: 'sold_out' }, '3');

    expect(seen).toEqual([undefined]);
  });

  it('on the server, where there is no EventSource, stays quiet', () => {
    vi.stubGlobal('EventSource', undefined);
    const { seen } = watch(1);
    expect(seen).toEqual([undefined]);
  });
});
