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

const SALES_STATES = new Set(['on_sale', 'not_yet', 'sold_out', 'ended', 'none']);
const STATUSES = new Set(['none', 'setup', 'active', 'inactive']);

/** What the stream carries, by kind: ticketing status changes, and new ticket summaries (docs/contract.md#sse-messages). */
interface Updates {
  status: TicketingStatusChanged;
  summary: TicketSummaryChanged;
}
type Kind = keyof Updates;
type Listener<K extends Kind> = (update: Updates[K]) => void;

/** Tells each kind of update by its `type`; a message of a type the page does not know is skipped. */
const RECOGNISE: { [K in Kind]: (data: unknown) => data is Updates[K] } = {
  status: (data): data is TicketingStatusChanged => {
    const update = data as TicketingStatusChanged | null;
    return (
      update?.type === 'ticketing_status_changed' &&
      Number.isInteger(update.eventId) &&
      STATUSES.has(update.status) &&
      typeof update.timestamp === 'string'
    );
  },
  summary: (data): data is TicketSummaryChanged => {
    const update = data as TicketSummaryChanged | null;
    return (
      update?.type === 'ticket_summary_changed' &&
      Number.isInteger(update.eventId) &&
      SALES_STATES.has(update.summary?.sales_state) &&
      typeof update.timestamp === 'string'
    );
  },
};
const KINDS = Object.keys(RECOGNISE) as Kind[];

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * A stream id (docs/contract.md#sse): `p12` counts only public events' changes, `12` is a change-log
 * id, for members of an account; the two numberings cannot be compared.
 */
function parseStreamId(id: string | undefined): { numbering: 'public' | 'log'; id: number } | undefined {
  const match = id === undefined ? null : /^(p?)(0|[1-9][0-9]{0,15})$/.exec(id);
  return match ? { numbering: match[1] ? 'public' : 'log', id: Number(match[2]) } : undefined;
}

/**
 * The earlier of two stream ids, to resume from; either may be missing. Ids of different numberings
 * (the viewer signed in or out, or joined an account, between them) cannot be compared: `newer` is
 * taken, and tuvens-api replays from the matching point.
 */
function earlier(older: string | undefined, newer: string | undefined): string | undefined {
  const [a, b] = [parseStreamId(older), parseStreamId(newer)];
  if (!a) return b && newer;
  if (!b || a.numbering !== b.numbering) return b ? newer : older;
  return a.id <= b.id ? older : newer;
}

class EventUpdatesConnection {
  readonly #baseUrl: string;
  readonly #listeners: { [K in Kind]: Map<number, Set<Listener<K>>> } = {
    status: new Map(),
    summary: new Map(),
  };
  readonly #latest: { [K in Kind]: Map<number, Updates[K]> } = { status: new Map(), summary: new Map() };
  #source: EventSource | undefined;
  #openIds = '';
  #lastEventId: string | undefined;
  /** The oldest point that events joining since the stream last opened have page data from. */
  #catchUpFrom: string | undefined;
  #retryDelayMs = RETRY_MIN_MS;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  latest<K extends Kind>(kind: K, eventId: number): Updates[K] | undefined {
    return this.#latest[kind].get(eventId);
  }

  listen<K extends Kind>(kind: K, eventId: number, listener: Listener<K>, changesSeen?: string): () => void {
    if (KINDS.every((other) => !this.#listeners[other].has(eventId))) {
      this.#catchUpFrom = earlier(this.#catchUpFrom, changesSeen);
    }
    const map: Map<number, Set<Listener<K>>> = this.#listeners[kind];
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

  /** Every event someone on the page listens to, for any kind of update. */
  #eventIds(): number[] {
    return [...new Set(KINDS.flatMap((kind) => [...this.#listeners[kind].keys()]))];
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
    const resumeAfter = earlier(this.#lastEventId, this.#catchUpFrom);
    this.#catchUpFrom = undefined;
    if (resumeAfter !== undefined) url.searchParams.set('lastEventId', resumeAfter);
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
    const kind = KINDS.find((candidate) => RECOGNISE[candidate](update));
    if (kind) this.#deliver(kind, update as Updates[typeof kind]);
  }

  #deliver<K extends Kind>(kind: K, update: Updates[K]): void {
    this.#latest[kind].set(update.eventId, update);
    for (const listener of this.#listeners[kind].get(update.eventId) ?? []) listener(update);
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
 * The latest live update of one kind for one event (undefined until one arrives), as a store. On the
 * server, where there is no `EventSource`, it never changes.
 */
function latestUpdates<K extends Kind>(
  kind: K,
  baseUrl: string,
  eventId: number,
  changesSeen: string | undefined,
): Readable<Updates[K] | undefined> {
  return {
    subscribe(run) {
      if (typeof EventSource === 'undefined') {
        run(undefined);
        return () => {};
      }
      const connection = connectionTo(baseUrl);
      run(connection.latest(kind, eventId));
      return connection.listen(kind, eventId, run, changesSeen);
    },
  };
}

/** The latest live ticketing change of one event (undefined until one arrives), as a store. */
export function eventUpdates(
  baseUrl: string,
  eventId: number,
  /** Where the page's data stands (`CHANGES_SEEN_HEADER`, `p12` or `12`); later changes are replayed. */
  changesSeen?: string,
): Readable<TicketingStatusChanged | undefined> {
  return latestUpdates('status', baseUrl, eventId, changesSeen);
}

/** The latest live ticket summary of one event, as a store; it shares the page's one stream with `eventUpdates`. */
export function ticketSummaryUpdates(
  baseUrl: string,
  eventId: number,
  changesSeen?: string,
): Readable<TicketSummaryChanged | undefined> {
  return latestUpdates('summary', baseUrl, eventId, changesSeen);
}
