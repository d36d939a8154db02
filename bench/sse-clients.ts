import net from 'node:net';

/**
 * Many SSE clients in one process, separate from the server under test and from the runner that
 * sends the changes. Driven over IPC by bench/sse-fanout.ts (and sse-50k.ts, reconnect-storm.ts,
 * which may start several, each from its own loopback address): `connect` opens the streams, each
 * message's arrival is stamped with the monotonic clock (CLOCK_MONOTONIC, shared by every process
 * on the machine, so the runner's send time and these arrival times are comparable), `report`
 * answers every message's arrival times, `progress` how many clients have some, `close` ends every
 * stream. Given a `reconnectPort`, a stream that ends comes back as EventSource does: after the
 * server's `retry:` (plus up to 10 %), with `Last-Event-ID`; a message received twice is counted.
 *
 * Each client is a bare TCP socket that sends one GET and scans what arrives for `id:` lines: no
 * HTTP parser, no streams, no EventSource. With 10,000 clients on two cores the client side's own
 * cost per message would otherwise be a large part of what is measured.
 */

export type ClientCommand =
  | {
      type: 'connect';
      host: string;
      port: number;
      path: string;
      count: number;
      /** Count a stream as live on the server's `event: ready` rather than on its response headers. */
      waitForReadyEvent: boolean;
      timeoutMs: number;
      /** The loopback address the sockets connect from (127.0.0.x): each has its own ephemeral ports. */
      localAddress?: string | undefined;
      /**
       * Reconnect a stream that ends, as EventSource does: after the server's `retry:` plus up to 10 %
       * of it at random, to this port, with `Last-Event-ID` set to the last id the stream carried.
       */
      reconnectPort?: number | undefined;
    }
  | { type: 'report' }
  /** How many clients have received each of these message ids (cheap enough to ask often). */
  | { type: 'progress'; ids: string[] }
  | { type: 'close' };

export type ClientAnswer =
  | { type: 'connected'; live: number; failed: number; firstError: string | undefined; elapsedMs: number }
  | { type: 'complete'; id: string; count: number }
  | {
      type: 'report';
      /** Per message id, in id order: each client's arrival time in ms, or null. */
      messages: { id: string; arrivalsMs: (number | null)[] }[];
      /** Streams that ended while they should have stayed open. */
      dropped: number;
      /** Messages that arrived with an id not above the stream's previous one. */
      outOfOrder: number;
      /** Messages a client received a second time (after a reconnection). */
      doubled: number;
      /** Streams opened again after they ended. */
      reconnected: number;
    }
  | { type: 'progress'; counts: number[]; live: number; reconnected: number }
  | { type: 'closed' };

/** Connection attempts in flight at once: quick, yet gentle on the server's accept queue. */
const CONNECT_BATCH = 400;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Where an SSE `id:` line starts: after the newline that ends the chunk-size line or the previous field.
const ID_FIELD = Buffer.from('\nid: ');
const READY_EVENT = Buffer.from('event: ready');

/**
 * The number in an SSE id, for checking the order: `p12` (streams of public events only) and `12`
 * (change-log ids, a member's streams) both count up within one stream (docs/contract.md#sse-ids).
 */
export function idNumber(id: string): number {
  return Number(id.startsWith('p') ? id.slice(1) : id);
}
const RETRY_FIELD = Buffer.from('\nretry: ');
const HEADER_END = Buffer.from('\r\n\r\n');
/** EventSource's reconnection time before a stream has sent `retry:` (the HTML standard leaves it to the browser). */
const DEFAULT_RETRY_MS = 3_000;

function main(): void {
  const sockets: net.Socket[] = [];
  const messages = new Map<string, { arrivals: Float64Array; count: number }>();
  let live = 0;
  let dropped = 0;
  let outOfOrder = 0;
  let doubled = 0;
  let reconnected = 0;
  let closing = false;
  const send = (answer: ClientAnswer) => process.send?.(answer);

  const record = (index: number, id: string, at: number, clientCount: number) => {
    let received = messages.get(id);
    if (!received) {
      received = { arrivals: new Float64Array(clientCount).fill(Number.NaN), count: 0 };
      messages.set(id, received);
    }
    if (!Number.isNaN(received.arrivals[index]!)) {
      doubled += 1;
      return;
    }
    received.arrivals[index] = at;
    received.count += 1;
    if (received.count === live) send({ type: 'complete', id, count: received.count });
  };

  const connect = async (command: Extract<ClientCommand, { type: 'connect' }>) => {
    const started = nowMs();
    const deadline = started + command.timeoutMs;
    const firstRequest = Buffer.from(
      `GET ${command.path} HTTP/1.1\r\nHost: ${command.host}:${command.port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    let failed = 0;
    let firstError: string | undefined;
    let next = 0;
    let pending = 0;
    await new Promise<void>((resolve) => {
      const launch = () => {
        while (pending < CONNECT_BATCH && next < command.count && nowMs() < deadline) {
          openClient(next++);
        }
        if (pending === 0 && (next >= command.count || nowMs() >= deadline)) resolve();
      };
      const openClient = (index: number) => {
        pending += 1;
        let settled = false;
        /** The last change id, to check the order; and the last id of any event, as EventSource keeps it. */
        let lastId = -1;
        let lastEventId: string | undefined;
        let retryMs = DEFAULT_RETRY_MS;
        const settle = (ok: boolean, error?: string) => {
          if (settled) return;
          settled = true;
          pending -= 1;
          if (ok) live += 1;
          else {
            failed += 1;
            firstError ??= error;
          }
          launch();
        };
        const openStream = (port: number, resuming: boolean) => {
          let headers: Buffer | undefined = Buffer.alloc(0);
          let isLive = false;
          const markLive = () => {
            if (isLive) return;
            isLive = true;
            if (!settled) {
              settle(true);
            } else {
              live += 1;
              reconnected += 1;
            }
          };
          // A message split across two reads is scanned once it is whole: what follows the last
          // newline of one read is carried over to the next.
          let carry = Buffer.alloc(0);
          const scan = (chunk: Buffer, at: number) => {
            const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
            if (command.waitForReadyEvent && !isLive && data.includes(READY_EVENT)) markLive();
            const retryAt = data.indexOf(RETRY_FIELD);
            if (retryAt >= 0) {
              const value = Number(
                data.toString('latin1', retryAt + RETRY_FIELD.length, data.indexOf(10, retryAt + 1)),
              );
              if (Number.isInteger(value) && value >= 0) retryMs = value;
            }
            let from = data.indexOf(ID_FIELD);
            while (from >= 0) {
              const start = from + ID_FIELD.length;
              const end = data.indexOf(10, start);
              if (end < 0) break;
              const id = data.toString('latin1', start, end);
              lastEventId = id;
              // The `ready` event's id tells where the stream stands; it is not a change.
              const isReady =
                from >= READY_EVENT.length &&
                data.subarray(from - READY_EVENT.length, from).equals(READY_EVENT);
              if (!isReady) {
                if (idNumber(id) <= lastId) outOfOrder += 1;
                lastId = Math.max(lastId, idNumber(id));
                record(index, id, at, command.count);
              }
              from = data.indexOf(ID_FIELD, end);
            }
            carry = Buffer.from(data.subarray(Math.max(0, data.lastIndexOf(10))));
          };
          const request =
            resuming && lastEventId !== undefined
              ? Buffer.from(
                  `GET ${command.path} HTTP/1.1\r\nHost: ${command.host}:${port}\r\nAccept: text/event-stream\r\nLast-Event-ID: ${lastEventId}\r\n\r\n`,
                )
              : firstRequest;
          const socket = net.connect({ host: command.host, port, localAddress: command.localAddress }, () =>
            socket.write(request),
          );
          socket.setNoDelay(true);
          sockets.push(socket);
          socket.on('data', (chunk: Buffer) => {
            const at = nowMs();
            if (headers) {
              headers = Buffer.concat([headers, chunk]);
              const end = headers.indexOf(HEADER_END);
              if (end < 0) return;
              if (!headers.subarray(0, 16).toString('latin1').startsWith('HTTP/1.1 200')) {
                if (!settled) settle(false, headers.subarray(0, headers.indexOf(13)).toString('latin1'));
                socket.destroy();
                return;
              }
              const body = headers.subarray(end + HEADER_END.length);
              headers = undefined;
              if (!command.waitForReadyEvent) markLive();
              if (body.length) scan(body, at);
              return;
            }
            scan(chunk, at);
          });
          socket.on('error', (error) => {
            if (!settled) settle(false, error.message);
          });
          socket.on('close', () => {
            if (!settled) {
              settle(false, 'closed before it was live');
              return;
            }
            if (closing) return;
            if (command.reconnectPort === undefined) {
              dropped += 1;
              return;
            }
            if (isLive) live -= 1;
            const delayMs = retryMs * (1 + Math.random() * 0.1);
            setTimeout(() => {
              if (!closing) openStream(command.reconnectPort!, true);
            }, delayMs);
          });
        };
        openStream(command.port, false);
      };
      launch();
    });
    send({ type: 'connected', live, failed, firstError, elapsedMs: nowMs() - started });
  };

  process.on('message', (command: ClientCommand) => {
    if (command.type === 'connect') {
      void connect(command);
    } else if (command.type === 'report') {
      const report = [...messages]
        .sort((a, b) => idNumber(a[0]) - idNumber(b[0]))
        .map(([id, { arrivals }]) => ({
          id,
          arrivalsMs: Array.from(arrivals, (value) => (Number.isNaN(value) ? null : value)),
        }));
      send({ type: 'report', messages: report, dropped, outOfOrder, doubled, reconnected });
    } else if (command.type === 'progress') {
      const counts = command.ids.map((id) => messages.get(id)?.count ?? 0);
      send({ type: 'progress', counts, live, reconnected });
    } else if (command.type === 'close') {
      closing = true;
      for (const socket of sockets) socket.destroy();
      sockets.length = 0;
      messages.clear();
      send({ type: 'closed' });
    }
  });
}

if (import.meta.main) main();
