import net from 'node:net';

/**
 * Many SSE clients in one process, separate from the server under test and from the runner that
 * sends the changes. Driven over IPC by bench/sse-fanout.ts: `connect` opens the streams, each
 * message's arrival is stamped with the monotonic clock (CLOCK_MONOTONIC, shared by every process
 * on the machine, so the runner's send time and these arrival times are comparable), `report`
 * answers every message's arrival times, `close` ends every stream.
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
    }
  | { type: 'report' }
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
    }
  | { type: 'closed' };

/** Connection attempts in flight at once: quick, yet gentle on the server's accept queue. */
const CONNECT_BATCH = 400;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Where an SSE `id:` line starts: after the newline that ends the chunk-size line or the previous field.
const ID_FIELD = Buffer.from('\nid: ');
const READY_EVENT = Buffer.from('event: ready');
const HEADER_END = Buffer.from('\r\n\r\n');

function main(): void {
  const sockets: net.Socket[] = [];
  const messages = new Map<string, { arrivals: Float64Array; count: number }>();
  let live = 0;
  let dropped = 0;
  let outOfOrder = 0;
  let closing = false;
  const send = (answer: ClientAnswer) => process.send?.(answer);

  const record = (index: number, id: string, at: number, clientCount: number) => {
    let received = messages.get(id);
    if (!received) {
      received = { arrivals: new Float64Array(clientCount).fill(Number.NaN), count: 0 };
      messages.set(id, received);
    }
    received.arrivals[index] = at;
    received.count += 1;
    if (received.count === live) send({ type: 'complete', id, count: received.count });
  };

  const connect = async (command: Extract<ClientCommand, { type: 'connect' }>) => {
    const started = nowMs();
    const deadline = started + command.timeoutMs;
    const request = Buffer.from(
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
        let headers: Buffer | undefined = Buffer.alloc(0);
        let lastId = -1;
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
        // A message split across two reads is scanned once it is whole: what follows the last
        // newline of one read is carried over to the next.
        let carry = Buffer.alloc(0);
        const scan = (chunk: Buffer, at: number) => {
          const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
          if (!settled && command.waitForReadyEvent && data.includes(READY_EVENT)) settle(true);
          let from = data.indexOf(ID_FIELD);
          while (from >= 0) {
            const start = from + ID_FIELD.length;
            const end = data.indexOf(10, start);
            if (end < 0) break;
            // The `ready` event's id tells where the stream stands; it is not a change.
            const isReady =
              from >= READY_EVENT.length &&
              data.subarray(from - READY_EVENT.length, from).equals(READY_EVENT);
            if (!isReady) {
              const id = data.toString('latin1', start, end);
              if (Number(id) <= lastId) outOfOrder += 1;
              lastId = Number(id);
              record(index, id, at, command.count);
            }
            from = data.indexOf(ID_FIELD, end);
          }
          carry = Buffer.from(data.subarray(Math.max(0, data.lastIndexOf(10))));
        };
        const socket = net.connect({ host: command.host, port: command.port }, () => socket.write(request));
        socket.setNoDelay(true);
        sockets.push(socket);
        socket.on('data', (chunk: Buffer) => {
          const at = nowMs();
          if (headers) {
            headers = Buffer.concat([headers, chunk]);
            const end = headers.indexOf(HEADER_END);
            if (end < 0) return;
            if (!headers.subarray(0, 16).toString('latin1').startsWith('HTTP/1.1 200')) {
              settle(false, headers.subarray(0, headers.indexOf(13)).toString('latin1'));
              socket.destroy();
              return;
            }
            const body = headers.subarray(end + HEADER_END.length);
            headers = undefined;
            if (!command.waitForReadyEvent) settle(true);
            if (body.length) scan(body, at);
            return;
          }
          scan(chunk, at);
        });
        socket.on('error', (error) => settle(false, error.message));
        socket.on('close', () => {
          if (!settled) settle(false, 'closed before it was live');
          else if (!closing) dropped += 1;
        });
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
        .sort((a, b) => Number(a[0]) - Number(b[0]))
        .map(([id, { arrivals }]) => ({
          id,
          arrivalsMs: Array.from(arrivals, (value) => (Number.isNaN(value) ? null : value)),
        }));
      send({ type: 'report', messages: report, dropped, outOfOrder });
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
