import http from 'node:http';
import https from 'node:https';
import { EVENT_UPDATES_PATH, STREAM_READY_EVENT } from '@tuvens/contracts';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** What hears tuvens-api's public changes: told when the stream is heard, lost, and of each change. */
export interface ChangeListener {
  /** The stream is heard (its `ready` came) or lost; while lost, any change may have been missed. */
  setListening(listening: boolean): void;
  /** A public event changed (its ticketing status or ticket summary). */
  invalidate(eventId: number): void;
  /** A message that names no event it changed: anything may have. */
  clear(): void;
}

export interface ChangeStreamOptions {
  /** tuvens-api as this server reaches it. */
  apiUrl: string;
  listener: ChangeListener;
  /** Wait before opening the stream again after it was lost, in ms. */
  retryMs?: number;
  /** A stream silent this long (tuvens-api sends a comment every 15 s) is taken as lost, in ms. */
  silenceMs?: number;
}

/**
 * One anonymous stream of tuvens-api's public changes (docs/contract.md#sse) for the whole server, kept
 * open and reopened when lost. It never holds the process open: its socket is unreferenced.
 */
export class ChangeStream {
  readonly #url: URL;
  readonly #listener: ChangeListener;
  readonly #retryMs: number;
  readonly #silenceMs: number;
  #request: http.ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ChangeStreamOptions) {
    this.#url = new URL(`${options.apiUrl}${EVENT_UPDATES_PATH}`);
    this.#listener = options.listener;
    this.#retryMs = options.retryMs ?? 2_000;
    this.#silenceMs = options.silenceMs ?? 40_000;
  }

  start(): void {
    if (this.#request || this.#stopped) return;
    const transport = this.#url.protocol === 'https:' ? https : http;
    const request = transport.get(this.#url, { headers: { accept: 'text/event-stream' } });
    this.#request = request;
    request.on('socket', (socket) => socket.unref());
    request.on('error', () => this.#lost(request));
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        this.#lost(request);
        return;
      }
      response.setEncoding('utf8');
      const parser = createParser({ onEvent: (message) => this.#receive(message) });
      this.#watch(request);
      response.on('data', (chunk: string) => {
        this.#watch(request);
        parser.feed(chunk);
      });
      response.on('end', () => this.#lost(request));
      response.on('error', () => this.#lost(request));
    });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#request?.destroy();
    this.#request = undefined;
    this.#listener.setListening(false);
  }

  #receive(message: EventSourceMessage): void {
    if (message.event === STREAM_READY_EVENT) {
      this.#listener.setListening(true);
      return;
    }
    const eventId = eventIdOf(message.data);
    if (eventId === undefined) this.#listener.clear();
    else this.#listener.invalidate(eventId);
  }

  /** Restarts the silence timer of the current request. */
  #watch(request: http.ClientRequest): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#lost(request), this.#silenceMs);
    this.#timer.unref();
  }

  #lost(request: http.ClientRequest): void {
    if (request !== this.#request) return;
    request.destroy();
    this.#request = undefined;
    clearTimeout(this.#timer);
    this.#listener.setListening(false);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.start(), this.#retryMs);
    this.#timer.unref();
  }
}

/** The `eventId` of a change message's data, if it names one. */
function eventIdOf(data: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    const eventId = (parsed as { eventId?: unknown } | null)?.eventId;
    return typeof eventId === 'number' && Number.isInteger(eventId) ? eventId : undefined;
  } catch {
    return undefined;
  }
}
