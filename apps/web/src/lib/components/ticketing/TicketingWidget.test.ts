import { render, screen, waitFor } from '@testing-library/svelte';
import { TICKETING_TRANSITIONS, type TicketingStatus } from '@tuvens/contracts';
import { tick } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TicketingEvent } from '#lib/apis/hievents/extendedEventTypes.ts';
import { writeCachedStatus } from '#lib/stores/status-cache.ts';
import { FakeEventSource, FakeIntersectionObserver, statusChange } from '../../../test-fakes.ts';
import TicketingWidget from './TicketingWidget.svelte';

const HI_EVENTS_URL = 'http://localhost:4200';
const PAGE_RENDERED_AT = '2026-11-23T10:00:00.000Z';
const LATER = '2026-11-23T10:05:00.000Z';

let apiBaseUrl: string;
let testNumber = 0;
let beacons: { url: string; body: unknown }[];

beforeEach(() => {
  // A fresh API address per test gives each test its own shared connection.
  apiBaseUrl = `http://api-${++testNumber}.test`;
  FakeEventSource.instances = [];
  FakeIntersectionObserver.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.stubGlobal('IntersectionObserver', FakeIntersectionObserver);
  localStorage.clear();
  beacons = [];
  // jsdom has no sendBeacon; this one records what the widget reports.
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: (url: URL, body: string) => beacons.push({ url: String(url), body: JSON.parse(body) }) > 0,
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function eventWith(status: TicketingStatus, changes: Partial<TicketingEvent> = {}): TicketingEvent {
  const linked = status !== 'none';
  return {
    id: 1,
    title: 'Summer Concert',
    ticketing_status: status,
    hi_events_event_id: linked ? 7 : null,
    hi_events_event_url: linked ? `${HI_EVENTS_URL}/event/7/summer-concert` : null,
    contactData: { hiEventsLastUpdated: linked ? PAGE_RENDERED_AT : undefined },
    ...changes,
  };
}

function renderWidget(event: TicketingEvent, loadTimeoutMs?: number) {
  return render(TicketingWidget, { event, hiEventsUrl: HI_EVENTS_URL, apiBaseUrl, loadTimeoutMs });
}

/** Lets the store open its connection (it batches subscriptions in a zero-delay timer). */
async function liveStream(): Promise<FakeEventSource> {
  await waitFor(() => expect(FakeEventSource.open).toHaveLength(1));
  return FakeEventSource.current();
}

const iframe = () => document.querySelector('iframe');
const announcement = () => screen.getByRole('status');

const STATE_TEXT: Record<TicketingStatus, RegExp> = {
  active: /view tickets/i,
  setup: /configuration in progress/i,
  inactive: /ticketing is currently paused/i,
  none: /no online tickets/i,
};

describe('TicketingWidget: the four states', () => {
  it('active: shows the Hi.Events widget once in view, and a View tickets link opening in a new tab', async () => {
    renderWidget(eventWith('active'));
    FakeIntersectionObserver.scrollIntoView();
    await tick();

    const frame = iframe();
    expect(frame).not.toBeNull();
    const src = new URL(frame!.src);
    expect(`${src.origin}${src.pathname}`).toBe(`${HI_EVENTS_URL}/widget/7`);
    expect(src.searchParams.get('iframeId')).toBe(frame!.id);
    expect(frame).toHaveAccessibleName('Tickets for Summer Concert on Hi.Events');

    const link = screen.getByRole('link', { name: /view tickets/i });
    expect(link).toHaveAttribute('href', `${HI_EVENTS_URL}/event/7/summer-concert`);
    expect(link).toHaveAttribute('target', '_blank');
    expect(link).toHaveAttribute('rel', 'noopener');
  });

  it('active: the iframe is not inserted before the widget scrolls into view', async () => {
    renderWidget(eventWith('active'));
    await tick();
    expect(iframe()).toBeNull();
    expect(screen.getByRole('link', { name: /view tickets/i })).toBeInTheDocument();
  });

  it('setup: says that configuration is in progress', () => {
    renderWidget(eventWith('setup'));
    expect(screen.getByText(STATE_TEXT.setup)).toBeInTheDocument();
    expect(iframe()).toBeNull();
  });

  it('inactive: says that ticketing is currently paused', () => {
    renderWidget(eventWith('inactive'));
    expect(screen.getByText(STATE_TEXT.inactive)).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: /view tickets/i })).toBeNull();
  });

  it('none: points to other ways of registering', () => {
    renderWidget(eventWith('none'));
    expect(screen.getByText(STATE_TEXT.none)).toBeInTheDocument();
    expect(screen.getByText(/ask the organizer how to register/i)).toBeInTheDocument();
  });
});

describe('TicketingWidget: live changes', () => {
  const allowed = Object.entries(TICKETING_TRANSITIONS).flatMap(([from, targets]) =>
    targets.map((to) => [from as TicketingStatus, to] as const),
  );

  it.each(allowed)('%s → %s re-renders without a reload and is announced', async (from, to) => {
    renderWidget(eventWith(from));
    const stream = await liveStream();
    expect(stream.params.get('eventIds')).toBe('1');

    const url = to === 'none' ? null : `${HI_EVENTS_URL}/event/7/summer-concert`;
    stream.send(statusChange(1, to, LATER, url), '11');
    await tick();

    expect(screen.getByRole('region', { name: 'Tickets' })).toHaveAttribute('data-status', to);
    expect(screen.getByText(STATE_TEXT[to])).toBeInTheDocument();
    expect(announcement().textContent).not.toBe('');
  });

  it('turning active after setup shows the widget for the Hi.Events event named in the update', async () => {
    renderWidget(eventWith('none'));
    const stream = await liveStream();
    stream.send(statusChange(1, 'setup', LATER), '1');
    stream.send(
      statusChange(1, 'active', '2026-11-23T10:06:00.000Z', `${HI_EVENTS_URL}/event/12/concert`),
      '2',
    );
    await tick();
    FakeIntersectionObserver.scrollIntoView();
    await tick();

    expect(new URL(iframe()!.src).pathname).toBe('/widget/12');
    expect(announcement()).toHaveTextContent('Tickets are now on sale.');
  });

  it('an update older than what the page already shows changes nothing', async () => {
    renderWidget(eventWith('active'));
    const stream = await liveStream();
    stream.send(statusChange(1, 'setup', '2026-11-23T09:00:00.000Z'), '3');
    await tick();

    expect(screen.getByRole('region', { name: 'Tickets' })).toHaveAttribute('data-status', 'active');
    expect(announcement()).toHaveTextContent('');
  });

  it('updates for other events leave this widget alone', async () => {
    renderWidget(eventWith('setup'));
    const stream = await liveStream();
    stream.send(statusChange(2, 'active', LATER), '4');
    await tick();

    expect(screen.getByText(STATE_TEXT.setup)).toBeInTheDocument();
  });
});

describe('TicketingWidget: when Hi.Events does not load', () => {
  it('falls back to the link with a clear message when the widget does not appear in time', async () => {
    vi.useFakeTimers();
    renderWidget(eventWith('active'), 5_000);
    FakeIntersectionObserver.scrollIntoView();
    await tick();
    expect(iframe()).not.toBeNull();

    await vi.advanceTimersByTimeAsync(5_000);

    expect(iframe()).toBeNull();
    expect(screen.getByText(/the ticket widget didn’t load/i)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /view tickets/i })).toBeInTheDocument();
    expect(announcement()).toHaveTextContent(/could not load/i);
    expect(beacons).toEqual([
      {
        url: `${apiBaseUrl}/api/telemetry/widget-load`,
        body: { eventId: 1, outcome: 'fallback', duration_ms: 5_000 },
      },
    ]);
  });

  it('keeps the widget once Hi.Events has drawn it, and sizes the iframe to the height it reports', async () => {
    vi.useFakeTimers();
    renderWidget(eventWith('active'), 5_000);
    FakeIntersectionObserver.scrollIntoView();
    await tick();
    const frame = iframe()!;

    window.dispatchEvent(
      new MessageEvent('message', {
        origin: HI_EVENTS_URL,
        source: frame.contentWindow,
        data: { type: 'resize', height: 612.4, iframeId: frame.id },
      }),
    );
    await vi.advanceTimersByTimeAsync(10_000);

    expect(iframe()).toBe(frame);
    expect(frame).toHaveAttribute('height', '613');
    expect(beacons).toEqual([
      {
        url: `${apiBaseUrl}/api/telemetry/widget-load`,
        body: expect.objectContaining({ outcome: 'loaded' }),
      },
    ]);
  });

  it('honours resize messages from the origin the iframe loads from, when the event’s Hi.Events URL differs from the configured one', async () => {
    vi.useFakeTimers();
    const elsewhere = 'https://tickets.example';
    renderWidget(eventWith('active', { hi_events_event_url: `${elsewhere}/event/7/summer-concert` }), 5_000);
    FakeIntersectionObserver.scrollIntoView();
    await tick();
    const frame = iframe()!;
    expect(new URL(frame.src).origin).toBe(elsewhere);

    // The configured site is not where this iframe came from: its messages are not this widget's.
    window.dispatchEvent(
      new MessageEvent('message', {
        origin: HI_EVENTS_URL,
        source: frame.contentWindow,
        data: { type: 'resize', height: 9000, iframeId: frame.id },
      }),
    );
    window.dispatchEvent(
      new MessageEvent('message', {
        origin: elsewhere,
        source: frame.contentWindow,
        data: { type: 'resize', height: 512, iframeId: frame.id },
      }),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    expect(iframe()).toBe(frame);
    expect(frame).toHaveAttribute('height', '512');
  });

  it('ignores resize messages from any origin but Hi.Events', async () => {
    vi.useFakeTimers();
    renderWidget(eventWith('active'), 5_000);
    FakeIntersectionObserver.scrollIntoView();
    await tick();
    const frame = iframe()!;

    window.dispatchEvent(
      new MessageEvent('message', {
        origin: 'https://attacker.example',
        source: frame.contentWindow,
        data: { type: 'resize', height: 9000, iframeId: frame.id },
      }),
    );
    await tick();
    expect(frame).toHaveAttribute('height', '420');

    await vi.advanceTimersByTimeAsync(5_000);
    expect(screen.getByText(/the ticket widget didn’t load/i)).toBeInTheDocument();
  });
});

describe('TicketingWidget: status cache', () => {
  it('a revisit shows the cached status at once when it is newer than the page', async () => {
    writeCachedStatus(1, {
      status: 'active',
      hiEventsEventId: 7,
      hiEventsEventUrl: `${HI_EVENTS_URL}/event/7/summer-concert`,
      changedAt: Date.parse(LATER),
    });
    renderWidget(eventWith('setup'));
    await tick();

    expect(screen.getByRole('region', { name: 'Tickets' })).toHaveAttribute('data-status', 'active');
  });

  it('a cached status older than its time to live is ignored', async () => {
    writeCachedStatus(
      1,
      { status: 'active', hiEventsEventId: 7, hiEventsEventUrl: null, changedAt: Date.parse(LATER) },
      Date.now() - 61_000,
    );
    renderWidget(eventWith('setup'));
    await tick();

    expect(screen.getByRole('region', { name: 'Tickets' })).toHaveAttribute('data-status', 'setup');
  });

  it('the status shown is remembered for the next visit', async () => {
    const first = renderWidget(eventWith('setup'));
    const stream = await liveStream();
    stream.send(statusChange(1, 'inactive', LATER), '5');
    await tick();
    first.unmount();

    // Another page load: no live update in memory, only what was cached.
    apiBaseUrl = `http://api-${++testNumber}.test`;
    renderWidget(eventWith('setup'));
    await tick();
    expect(screen.getByRole('region', { name: 'Tickets' })).toHaveAttribute('data-status', 'inactive');
  });
});
