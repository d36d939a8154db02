import type { TicketingStatusChanged } from '@tuvens/contracts';

/**
 * Stand-ins for the browser APIs that jsdom lacks (EventSource, IntersectionObserver), driven by the
 * tests. Our own code always runs for real.
 */

export class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readonly url: string;
  readyState = FakeEventSource.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    FakeEventSource.instances.push(this);
  }

  static get open(): FakeEventSource[] {
    return FakeEventSource.instances.filter((source) => source.readyState !== FakeEventSource.CLOSED);
  }

  /** The one stream currently open; fails the test when there are none or several. */
  static current(): FakeEventSource {
    const open = FakeEventSource.open;
    if (open.length !== 1) throw new Error(`expected one open EventSource, found ${open.length}`);
    return open[0]!;
  }

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  connect(): void {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.(new Event('open'));
  }

  send(data: unknown, lastEventId: string): void {
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    this.onmessage?.(new MessageEvent('message', { data: text, lastEventId }));
  }

  /** tuvens-api's `ready` event: the stream has caught up and stands at `lastEventId`. */
  ready(lastEventId: string): void {
    this.dispatchEvent(new MessageEvent('ready', { data: '{"type":"ready"}', lastEventId }));
  }

  /** The server answered with an error the browser will not retry (for instance a 503). */
  giveUp(): void {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.(new Event('error'));
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
}

export class FakeIntersectionObserver {
  static instances: FakeIntersectionObserver[] = [];

  readonly #callback: IntersectionObserverCallback;
  readonly targets = new Set<Element>();

  constructor(callback: IntersectionObserverCallback) {
    this.#callback = callback;
    FakeIntersectionObserver.instances.push(this);
  }

  /** Scrolls every observed element into view. */
  static scrollIntoView(): void {
    for (const observer of FakeIntersectionObserver.instances) {
      const entries = [...observer.targets].map((target) => ({ target, isIntersecting: true }));
      if (entries.length > 0) {
        observer.#callback(entries as unknown as IntersectionObserverEntry[], observer as never);
      }
    }
  }

  observe(target: Element): void {
    this.targets.add(target);
  }

  unobserve(target: Element): void {
    this.targets.delete(target);
  }

  disconnect(): void {
    this.targets.clear();
  }

  takeRecords(): IntersectionObserverEntry[] {
    return [];
  }
}

export function statusChange(
  eventId: number,
  status: TicketingStatusChanged['status'],
  timestamp: string,
  hiEventsEventUrl: string | null = null,
): TicketingStatusChanged {
  return { type: 'ticketing_status_changed', eventId, status, hiEventsEventUrl, timestamp };
}
