import type { TicketingStatusChanged, TicketSummaryChanged } from '#lib/apis/hievents/extendedEventTypes.ts';

/**
 * Live ticketing updates (docs/contract.md#sse). Every subscriber on a page shares one `EventSource`
 * on tuvens-api for all the event ids the page shows. The browser reconnects by itself and resends
 * `Last-Event-ID`; when the set of ids changes, or the browser gave up, the stream is reopened with the
 * last id seen (`?lastEventId=`), so that no change is lost in between.
 */

/** `EVENT_UPDATES_PATH` and `EVENT_UPDATES_MAX_EVENT_IDS` of the contracts, kept here so zod stays out of the page. */
export const EVENT_UPDATES_PATH = '/api/events/updates';
export const EVENT_UPDATES_MAX_EVENT_IDS = 100;

/** The Svelte store contract, so components can read an event's updates as `$updates`. */
export interface Readable<T> {
  subscribe(run: (value: T) => void): () => void;
}

type Listener = (update: TicketingStatusChanged) => void;
type SummaryListener = (update: TicketSummaryChanged) => void;

const SALES_STATES = new Set(['on_sale', 'not_yet', 'sold_out', 'ended', 'none']);

/** A new ticket summary (docs/contract.md#sse-messages); pages that know only statuses skip it by `type`. */
function isSummaryChange(data: unknown): data is TicketSummaryChanged {
  const update = data as TicketSummaryChanged | null;
  return (
    update?.type === 'ticket_summary_changed' &&
    Number.isInteger(update.eventId) &&
    SALES_STATES.has(update.summary?.sales_state) &&
    typeof update.timestamp === 'string'
  );
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const STATUSES = new Set(['none', 'setup', 'active', 'inactive']);

function isStatusChange(data: unknown): data is TicketingStatusChanged {
  const update = data as TicketingStatusChanged | null;
  return (
    update?.type === 'ticketing_status_changed' &&
    Number.isInteger(update.eventId) &&
    STATUSES.has(update.status) &&
    typeof update.timestamp === 'string'
  );
}

class EventUpdatesConnection {
  readonly #baseUrl: string;
  readonly #listeners = new Map<number, Set<Listener>>();
  readonly #latest = new Map<number, TicketingStatusChanged>();
  readonly #summaryListeners = new Map<number, Set<SummaryListener>>();
  readonly #latestSummary = new Map<number, TicketSummaryChanged>();
  #source: EventSource | undefined;
  #openIds = '';
  #lastEventId = '';
  /** The oldest point that events joining since the stream last opened have page data from. */
  #catchUpFrom: number | undefined;
  #retryDelayMs = RETRY_MIN_MS;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  latest(eventId: number): TicketingStatusChanged | undefined {
    return this.#latest.get(eventId);
  }

  listen(eventId: number, listener: Listener, changesSeen?: number): () => void {
    return this.#add(this.#listeners, eventId, listener, changesSeen);
  }

  latestSummary(eventId: number): TicketSummaryChanged | undefined {
    return this.#latestSummary.get(eventId);
  }

  listenToSummary(eventId: number, listener: SummaryListener, changesSeen?: number): () => void {
    return this.#add(this.#summaryListeners, eventId, listener, changesSeen);
  }

  #add<T>(map: Map<number, Set<T>>, eventId: number, listener: T, changesSeen?: number): () => void {
    if (changesSeen !== undefined && !this.#listeners.has(eventId) && !this.#summaryListeners.has(eventId)) {
      this.#catchUpFrom = Math.min(this.#catchUpFrom ?? changesSeen, changesSeen);
    }
    const listeners = map.get(eventId) ?? new Set();
    map.set(eventId, listeners);
    listeners.add(listener);
    this.#scheduleSync();
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) map.delete(eventId);
      this.#scheduleSync();
    };
  }

  /** Every event someone on the page listens to, for statuses or summaries. */
  #eventIds(): number[] {
    return [...new Set([...this.#listeners.keys(), ...this.#summaryListeners.keys()])];
  }

  /** Batches the subscribe and unsubscribe calls of one page change into one (re)connection. */
  #scheduleSync(): void {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = setTimeout(() => this.#sync(), 0);
  }

  #sync(): void {
    const ids = this.#eventIds()
      .sort((a, b) => a - b)
      .join(',');
    if (ids === this.#openIds && this.#source) return;
    this.#close();
    this.#openIds = ids;
    if (ids) this.#open();
  }

  #open(): void {
    const url = new URL(`${this.#baseUrl}${EVENT_UPDATES_PATH}`);
    // A page showing more events than one filter may name hears all of them instead.
    if (this.#eventIds().length <= EVENT_UPDATES_MAX_EVENT_IDS)
      url.searchParams.set('eventIds', this.#openIds);
    // Resume after the last change this stream saw, or from further back when an event joined whose
    // page data is older: what happened in between is replayed, not lost.
    const candidates = [this.#lastEventId ? Number(this.#lastEventId) : undefined, this.#catchUpFrom];
    const resumeAfter = Math.min(...candidates.filter((id) => id !== undefined));
    this.#catchUpFrom = undefined;
    if (Number.isFinite(resumeAfter)) url.searchParams.set('lastEventId', String(resumeAfter));
    const source = new EventSource(url);
    this.#source = source;
    source.onopen = () => {
      this.#retryDelayMs = RETRY_MIN_MS;
    };
    source.onmessage = (message) => this.#receive(message);
    // tuvens-api marks where the stream stands once it has caught up, so a page that saw no change
    // yet still resumes from there (the `ready` event of the contracts).
    source.addEventListener('ready', (message) => {
      if (message.lastEventId) this.#lastEventId = message.lastEventId;
    });
    source.onerror = () => {
      // CONNECTING: the browser retries by itself, with Last-Event-ID. CLOSED: it gave up (say, a 5xx).
      if (source.readyState === EventSource.CLOSED && this.#source === source) this.#retryLater();
    };
  }

  #receive(message: MessageEvent<string>): void {
    if (message.lastEventId) this.#lastEventId = message.lastEventId;
    let update: unknown;
    try {
      update = JSON.parse(message.data);
    } catch {
      return;
    }
    if (isSummaryChange(update)) {
      this.#latestSummary.set(update.eventId, update);
      for (const listener of this.#summaryListeners.get(update.eventId) ?? []) listener(update);
      return;
    }
    if (!isStatusChange(update)) return;
    this.#latest.set(update.eventId, update);
    for (const listener of this.#listeners.get(update.eventId) ?? []) listener(update);
  }

  #retryLater(): void {
    this.#close();
    const delay = this.#retryDelayMs * (0.5 + Math.random() / 2);
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, RETRY_MAX_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#openIds) this.#open();
    }, delay);
  }

  #close(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#source?.close();
    this.#source = undefined;
  }
}

/**
 * Where a page listens: a signed-in viewer through this site, which relays the stream with their
 * sign-in (an `EventSource` cannot send one, and the JWT is in an HttpOnly cookie), so that the
 * private events of their accounts are heard too; a visitor straight from tuvens-api.
 */
export function updatesBaseUrl(viewer: {
  signedIn: boolean;
  siteOrigin: string;
  apiBaseUrl: string;
}): string {
  return viewer.signedIn ? viewer.siteOrigin : viewer.apiBaseUrl;
}

const connections = new Map<string, EventUpdatesConnection>();

function connectionTo(baseUrl: string): EventUpdatesConnection {
  const connection = connections.get(baseUrl) ?? new EventUpdatesConnection(baseUrl);
  connections.set(baseUrl, connection);
  return connection;
}

/**
 * The latest live ticketing change of one event (undefined until one arrives), as a store.
 * On the server, where there is no `EventSource`, it never changes.
 */
export function eventUpdates(
  baseUrl: string,
  eventId: number,
  /** The change id the page's data reflects (`CHANGES_SEEN_HEADER`); later changes are replayed. */
  changesSeen?: number,
): Readable<TicketingStatusChanged | undefined> {
  return {
    subscribe(run) {
      if (typeof EventSource === 'undefined') {
        run(undefined);
        return () => {};
      }
      const connection = connectionTo(baseUrl);
      run(connection.latest(eventId));
      return connection.listen(eventId, run, changesSeen);
    },
  };
}

/**
 * The latest live ticket summary of one event (undefined until one arrives), as a store; on the server it
 * never changes. It shares the page's one stream with `eventUpdates`.
 */
export function ticketSummaryUpdates(
  baseUrl: string,
  eventId: number,
  changesSeen?: number,
): Readable<TicketSummaryChanged | undefined> {
  return {
    subscribe(run) {
      if (typeof EventSource === 'undefined') {
        run(undefined);
        return () => {};
      }
      const connection = connectionTo(baseUrl);
      run(connection.latestSummary(eventId));
      return connection.listenToSummary(eventId, run, changesSeen);
    },
  };
}
