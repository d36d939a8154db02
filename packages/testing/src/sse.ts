import http from 'node:http';
import { EventSource } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { eventually } from './wait.ts';

/** One Server-Sent Events message: its `id:`, `event:` and joined `data:` lines. */
export type SseMessage = EventSourceMessage;

/**
 * A bare SSE stream over node:http that calls `onMessage` as soon as each message's blank line
 * arrives. It never reconnects: a benchmark must see a dropped stream, not hide it.
 */
export function openRawSseStream(options: {
  host: string;
  port: number;
  path: string;
  agent: http.Agent | false;
  headers?: Record<string, string>;
  onOpen: () => void;
  onMessage: (message: SseMessage) => void;
  onClose: (error: Error | undefined) => void;
}): http.ClientRequest {
  const request = http.get(
    {
      host: options.host,
      port: options.port,
      path: options.path,
      agent: options.agent,
      headers: { accept: 'text/event-stream', ...options.headers },
    },
    (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        options.onClose(new Error(`SSE answered ${response.statusCode}`));
        return;
      }
      options.onOpen();
      response.setEncoding('utf8');
      const parser = createParser({ onEvent: options.onMessage });
      response.on('data', (chunk: string) => parser.feed(chunk));
      response.on('close', () => options.onClose(undefined));
      response.on('error', (error) => options.onClose(error));
    },
  );
  request.on('error', (error) => options.onClose(error));
  return request;
}

/** A message of the updates stream as a client received it. */
export interface ReceivedMessage<T> {
  /** Its SSE id as sent: `p12` on a stream of public events only, the change-log id (`12`) on a member's. */
  id: string;
  data: T;
}

export interface UpdatesStream<T> {
  /** Every message received, in arrival order, across reconnections. */
  readonly messages: ReceivedMessage<T>[];
  /** The id of each `ready` event: one per (re)connection. */
  readonly readyIds: string[];
  /** Each connection made: where to, and the `Last-Event-ID` it resumed from. */
  readonly connections: { baseUrl: string; lastEventId: string | null }[];
  /** Resolves once `count` messages have arrived in all. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage<T>[]>;
  /** Resolves once the stream has been ready `count` times (1 after connecting). */
  waitUntilReady(count?: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * An `EventSource` (the `eventsource` package, which reconnects by itself and sends
 * `Last-Event-ID`, as browsers do) on `path`. `baseUrl` is asked on every connection, so a test can
 * move its clients to another instance once theirs is gone.
 */
export function openUpdatesStream<T = unknown>(
  baseUrl: string | (() => string),
  path: string,
  options: { headers?: Record<string, string>; lastEventId?: string | number } = {},
): UpdatesStream<T> {
  const messages: ReceivedMessage<T>[] = [];
  const readyIds: string[] = [];
  const connections: UpdatesStream<T>['connections'] = [];
  const urlOf = typeof baseUrl === 'string' ? () => baseUrl : baseUrl;
  const source = new EventSource(`http://updates.invalid${path}`, {
    fetch: (input, init) => {
      const target = new URL(String(input));
      const headers: Record<string, string> = {
        ...(init.headers as Record<string, string>),
        ...options.headers,
      };
      let lastEventId = Object.entries(headers).find(([name]) => name.toLowerCase() === 'last-event-id')?.[1];
      if (lastEventId === undefined && options.lastEventId !== undefined) {
        lastEventId = String(options.lastEventId);
        headers['last-event-id'] = lastEventId;
      }
      const base = urlOf();
      connections.push({ baseUrl: base, lastEventId: lastEventId ?? null });
      return fetch(`${base}${target.pathname}${target.search}`, { ...init, headers });
    },
  });
  source.onmessage = (message) => {
    messages.push({ id: message.lastEventId, data: JSON.parse(message.data) as T });
  };
  source.addEventListener('ready', (message) => {
    readyIds.push(message.lastEventId);
  });
  return {
    messages,
    readyIds,
    connections,
    async waitForMessages(count, timeoutMs = 5_000) {
      await eventually(() => messages.length >= count, {
        timeoutMs,
        intervalMs: 5,
        what: `${count} messages (have ${messages.length})`,
      });
      return messages;
    },
    async waitUntilReady(count = 1, timeoutMs = 5_000) {
      await eventually(() => readyIds.length >= count, { timeoutMs, intervalMs: 5, what: `ready #${count}` });
    },
    close: () => source.close(),
  };
}
