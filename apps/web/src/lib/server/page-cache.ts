/**
 * Rendered event pages of anonymous visitors, served again while nothing about their event changed.
 *
 * What makes it safe:
 * - Only pages drawn for nobody in particular are kept: a GET with no session cookie and no query, whose
 *   answer is a 200 without `Set-Cookie` (the caller decides which requests qualify, see
 *   `hooks.server.ts`). Such a page was read from tuvens-api without a token, so it holds public data
 *   only, and nothing in it belongs to one viewer.
 * - Pages are kept only while tuvens-api's change stream is heard (`listening`): each change drops the
 *   pages of its event, and losing the stream drops every page. A render during which its event changed
 *   is not kept, so a page never outlives a change it does not show by more than the time the change
 *   takes to reach this server, as it reaches every open browser.
 * - A page is served for at most `maxAgeMs` in any case (what the clock alone changes, such as a sale
 *   opening, and anything that reaches pages by another way than the change log).
 * - The page carries the change cursor of its render, so a browser's live stream replays anything after
 *   it; a CSP by hashes (not per-response nonces) lets the same bytes be served again.
 */

export interface CachedPage {
  readonly status: number;
  /** Copied into each response (the Fetch standard fills a response's own header list from it). */
  readonly headers: Headers;
  /** Handed to every response as it is: nothing writes to it. */
  readonly body: Uint8Array<ArrayBuffer>;
}

interface Entry {
  readonly eventId: number;
  readonly page: CachedPage;
  readonly expiresAt: number;
}

interface Render {
  readonly eventId: number;
  readonly page: Promise<CachedPage | undefined>;
  /** Set when the event changed (or the stream was lost) while it was being drawn: not to be kept. */
  outdated: boolean;
}

export interface PageCacheOptions {
  /** How long a page may be served again at most, in ms; 0 keeps none. */
  maxAgeMs: number;
  /** Most pages kept at once (one per event and origin); the oldest goes first. */
  maxEntries: number;
  now?: () => number;
}

/** An answer that may be kept: a complete 200 HTML page that sets no cookie. */
function keepable(response: Response): boolean {
  return (
    response.status === 200 &&
    !response.headers.has('set-cookie') &&
    (response.headers.get('content-type') ?? '').startsWith('text/html')
  );
}

// A stream of the kept bytes rather than the bytes themselves, which the Response would copy, and the
// headers as a `Headers`, which it copies as a list: the response is built in a third of the time.
function toResponse(page: CachedPage): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(page.body);
      controller.close();
    },
  });
  return new Response(body, { status: page.status, headers: page.headers });
}

export class PageCache {
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #renders = new Map<string, Render>();
  #listening = false;

  constructor(options: PageCacheOptions) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Whether pages are kept: a maximum age above 0, and the change stream heard. */
  get active(): boolean {
    return this.#maxAgeMs > 0 && this.#listening;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The change stream is heard (true) or lost (false, which drops every page). */
  setListening(listening: boolean): void {
    this.#listening = listening;
    if (!listening) this.clear();
  }

  /** Drops every page of an event, and keeps none being drawn now. */
  invalidate(eventId: number): void {
    for (const [key, entry] of this.#entries) if (entry.eventId === eventId) this.#entries.delete(key);
    for (const render of this.#renders.values()) if (render.eventId === eventId) render.outdated = true;
  }

  clear(): void {
    this.#entries.clear();
    for (const render of this.#renders.values()) render.outdated = true;
  }

  /**
   * The page under `key`: a copy of the one kept, or the one being drawn for another request, or
   * `render()`'s, kept when it may be. Requests that find a render under way wait for it rather than
   * drawing the same page again; if it cannot be kept, each draws its own.
   */
  async serve(key: string, eventId: number, render: () => Promise<Response>): Promise<Response> {
    if (!this.active) return render();
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > this.#now()) return toResponse(entry.page);
    if (entry) this.#entries.delete(key);

    const underway = this.#renders.get(key);
    if (underway) {
      const page = await underway.page;
      return page ? toResponse(page) : render();
    }

    const { promise, resolve: resolvePage } = Promise.withResolvers<CachedPage | undefined>();
    const started: Render = { eventId, page: promise, outdated: false };
    this.#renders.set(key, started);
    const startedAt = this.#now();
    try {
      const response = await render();
      if (!keepable(response)) {
        resolvePage(undefined);
        return response;
      }
      const page: CachedPage = {
        status: response.status,
        headers: new Headers(response.headers),
        body: new Uint8Array(await response.arrayBuffer()),
      };
      resolvePage(page);
      if (!started.outdated && this.active)
        this.#keep(key, { eventId, page, expiresAt: startedAt + this.#maxAgeMs });
      return toResponse(page);
    } catch (error) {
      resolvePage(undefined);
      throw error;
    } finally {
      this.#renders.delete(key);
    }
  }

  #keep(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
