import { join } from 'node:path';
import {
  assertLoopback,
  BENCH_DIR,
  type Check,
  errorText,
  fmt,
  HttpClient,
  log,
  type NodeChild,
  nowMs,
  ok,
  processCpuMs,
  profiling,
  RESULTS_DIR,
  type ResourceUse,
  type Row,
  type Scenario,
  signInOrganizer,
  sleep,
  startApi,
  startMeter,
  startNodeChild,
  statusWalker,
  summarize,
} from './harness/index.ts';
import { diffHeapSnapshots } from './heap-diff.ts';
import type { ClientAnswer, ClientCommand } from './sse-clients.ts';

const CLIENTS = 10_000;
const SINGLE_CHANGES = 10;
const SUSTAINED_CHANGES = 30;
const SUSTAINED_INTERVAL_MS = 1_000;
const CONNECT_TIMEOUT_MS = 120_000;
const DELIVERY_TIMEOUT_MS = 10_000;
const TARGET_P99_MS = 250;
const TARGET_BYTES_PER_CONNECTION = 16 * 1024;

/** The monotonic clock in ms, the same one bench/sse-clients.ts stamps arrivals with. */

/** SSE clients in one or more processes, as `sendOneByOne` drives them. */
export interface ClientSet {
  /** Changes that have reached every live stream so far. */
  readonly completed: number;
  /** The client processes, whose CPU time is counted per change. */
  readonly pids: readonly number[];
  completion(count: number, timeoutMs: number): Promise<void>;
}

/** One clients process (bench/sse-clients.ts) of `count` streams, with typed commands and answers. */
export class Clients implements ClientSet {
  readonly #child: NodeChild;
  readonly pid: number;
  readonly count: number;
  /** Changes that have reached every live stream so far. */
  completed = 0;

  constructor(name: string, count = CLIENTS) {
    this.#child = startNodeChild(join(BENCH_DIR, 'sse-clients.ts'), { name });
    this.pid = this.#child.pid;
    this.count = count;
    this.#child.child.on('message', (message: ClientAnswer) => {
      if (message?.type === 'complete') this.completed += 1;
    });
  }

  /** Waits until `count` changes have reached every stream, or the timeout passes. */
  async completion(count: number, timeoutMs: number): Promise<void> {
    const deadline = nowMs() + timeoutMs;
    while (this.completed < count && nowMs() < deadline) await sleep(20);
  }

  send(command: ClientCommand): void {
    this.#child.send(command);
  }

  next<T extends ClientAnswer['type']>(
    type: T,
    timeoutMs: number,
    accept: (answer: Extract<ClientAnswer, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ClientAnswer, { type: T }>> {
    return this.#child.message(
      (message): message is Extract<ClientAnswer, { type: T }> =>
        (message as ClientAnswer)?.type === type && accept(message as Extract<ClientAnswer, { type: T }>),
      timeoutMs,
    );
  }

  get pids(): readonly number[] {
    return [this.pid];
  }

  /**
   * Opens the streams; `localAddress` is the loopback address they connect from, `reconnectPort`
   * where an ended stream reconnects (none: it stays closed).
   */
  async connect(
    url: string,
    path: string,
    waitForReadyEvent: boolean,
    options: { localAddress?: string; reconnectPort?: number; timeoutMs?: number } = {},
  ) {
    const { hostname, port } = assertLoopback(url);
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
    const connected = this.next('connected', timeoutMs + 10_000);
    this.send({
      type: 'connect',
      host: hostname,
      port: Number(port),
      path,
      count: this.count,
      waitForReadyEvent,
      timeoutMs,
      localAddress: options.localAddress,
      reconnectPort: options.reconnectPort,
    });
    return connected;
  }

  /** How many clients have received each of these message ids. */
  async progress(ids: string[]) {
    const answer = this.next('progress', 30_000);
    this.send({ type: 'progress', ids });
    return answer;
  }

  async report() {
    const report = this.next('report', 60_000);
    this.send({ type: 'report' });
    return report;
  }

  async stop(): Promise<void> {
    try {
      const closed = this.next('closed', 30_000);
      this.send({ type: 'close' });
      await closed;
    } catch {}
    await this.#child.stop();
  }
}

export interface Delivery {
  /** When the runner started sending the change. */
  sentAtMs: number;
  latenciesMs: number[];
  missing: number;
}

/** CPU time per change of the server and of the clients processes, in ms. */
export interface CpuPerChange {
  serverMs: number;
  clientsMs: number;
}

/**
 * Sends `count` changes one at a time, each once every client has the previous one (or it timed
 * out); answers when each was sent, and the CPU time the server and the clients spent per change.
 */
export async function sendOneByOne(
  clients: ClientSet,
  serverPid: number,
  count: number,
  send: () => Promise<number>,
): Promise<{ sentAt: number[]; cpu: CpuPerChange }> {
  const sentAt: number[] = [];
  let serverMs = 0;
  let clientsMs = 0;
  for (let index = 0; index < count; index++) {
    const target = clients.completed + 1;
    const server0 = processCpuMs(serverPid);
    const clients0 = cpuOf(clients.pids);
    sentAt.push(await send());
    await clients.completion(target, DELIVERY_TIMEOUT_MS);
    serverMs += processCpuMs(serverPid) - server0;
    clientsMs += cpuOf(clients.pids) - clients0;
    if (clients.completed < target)
      log(`change ${index + 1} did not reach every stream within ${DELIVERY_TIMEOUT_MS} ms`);
    await sleep(500);
  }
  return { sentAt, cpu: { serverMs: serverMs / count, clientsMs: clientsMs / count } };
}

const cpuOf = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);

/** Pairs the changes the clients saw (in id order) with when each was sent. */
export function deliveries(
  report: Extract<ClientAnswer, { type: 'report' }>,
  sentAt: number[],
  clients: number,
): Delivery[] {
  if (report.messages.length !== sentAt.length) {
    throw new Error(`${sentAt.length} changes sent, ${report.messages.length} distinct ones received`);
  }
  return report.messages.map((message, index) => {
    const sent = sentAt[index]!;
    const latenciesMs = message.arrivalsMs.filter((at): at is number => at !== null).map((at) => at - sent);
    return { sentAtMs: sent, latenciesMs, missing: clients - latenciesMs.length };
  });
}

export function fanoutRow(
  label: string,
  measured: Delivery[],
  live: number,
  resources?: ResourceUse,
  cpu?: CpuPerChange,
): Row {
  const all = summarize(measured.flatMap((delivery) => delivery.latenciesMs));
  const everyClient = summarize(measured.map((delivery) => Math.max(...delivery.latenciesMs)));
  const missing = measured.reduce((sum, delivery) => sum + delivery.missing, 0);
  return {
    label,
    concurrency: live,
    operations: measured.length * live - missing,
    failed: missing,
    latencyMs: all,
    resources,
    extra: {
      changes: measured.length,
      'every client has it, median ms': everyClient.p50,
      'worst ms': everyClient.max,
      ...(cpu && {
        'server CPU ms/change': cpu.serverMs,
        'clients CPU ms/change': cpu.clientsMs,
      }),
    },
  };
}

export const sseFanout: Scenario = {
  name: 'sse-fanout',
  title: `SSE fan-out: one status change to ${CLIENTS.toLocaleString('en-US')} streams, vs a raw node:http broadcaster`,
  async run({ database }) {
    const rows: Row[] = [];
    const notes: string[] = [];
    const checks: Check[] = [];

    // ── tuvens-api
    const api = await startApi(database);
    const client = new HttpClient(api.url, 2);
    let ours: { single: Delivery[]; sustained: Delivery[]; live: number; bytesPerConnection: number };
    let clients: Clients | undefined;
    try {
      const { eventId } = await signInOrganizer(client);
      const walk = statusWalker(client, eventId);
      const change = async () => (await walk()).sentAt;
      await change();
      await change();

      const before = await api.memory();
      const snapshots = profiling.heapSnapshots
        ? ['before', 'after'].map((moment) => join(RESULTS_DIR, `sse-fanout-api-${moment}.heapsnapshot`))
        : undefined;
      if (snapshots) await api.heapSnapshot(snapshots[0]!);
      clients = new Clients('sse-clients');
      const connectMeter = await startMeter(api.pid, database);
      const connected = await clients.connect(api.url, `/api/events/updates?eventIds=${eventId}`, true);
      const connectResources = await connectMeter.stop();
      const after = await api.memory();
      const live = connected.live;
      if (snapshots) {
        await api.heapSnapshot(snapshots[1]!);
        notes.push(
          `Heap growth per stream (--heap-snapshot; memory figures of this run include the snapshots' own cost):\n\n\`\`\`\n${diffHeapSnapshots(snapshots[0]!, snapshots[1]!, live)}\n\`\`\``,
        );
      }
      const bytesPerConnection = (after.rss - before.rss) / Math.max(1, live);
      const heapPerConnection =
        (after.heapUsed + after.external - before.heapUsed - before.external) / Math.max(1, live);
      rows.push({
        label: 'tuvens: open streams',
        concurrency: CLIENTS,
        operations: live,
        failed: connected.failed,
        throughputPerS: (live / connected.elapsedMs) * 1000,
        resources: connectResources,
        extra: {
          'RSS KiB/stream': bytesPerConnection / 1024,
          'JS heap KiB/stream': heapPerConnection / 1024,
        },
      });
      if (connected.failed) notes.push(`${connected.failed} streams failed to open: ${connected.firstError}`);

      const { sentAt: singleSent, cpu: singleCpu } = await sendOneByOne(
        clients,
        api.pid,
        SINGLE_CHANGES,
        change,
      );

      log(`sustained: ${SUSTAINED_CHANGES} changes, one every ${SUSTAINED_INTERVAL_MS} ms`);
      const sustainedMeter = await startMeter(api.pid, database);
      const sustainedCpu0 = { serverMs: processCpuMs(api.pid), clientsMs: processCpuMs(clients.pid) };
      const sustainedSent: number[] = [];
      const start = nowMs();
      for (let index = 0; index < SUSTAINED_CHANGES; index++) {
        await sleep(Math.max(0, start + index * SUSTAINED_INTERVAL_MS - nowMs()));
        sustainedSent.push(await change());
      }
      await clients.completion(SINGLE_CHANGES + SUSTAINED_CHANGES, DELIVERY_TIMEOUT_MS);
      const sustainedResources = await sustainedMeter.stop();
      const sustainedCpu = {
        serverMs: (processCpuMs(api.pid) - sustainedCpu0.serverMs) / SUSTAINED_CHANGES,
        clientsMs: (processCpuMs(clients.pid) - sustainedCpu0.clientsMs) / SUSTAINED_CHANGES,
      };
      const report = await clients.report();
      const all = deliveries(report, [...singleSent, ...sustainedSent], live);
      ours = {
        single: all.slice(0, SINGLE_CHANGES),
        sustained: all.slice(SINGLE_CHANGES),
        live,
        bytesPerConnection,
      };
      rows.push(fanoutRow('tuvens: one change → every stream', ours.single, live, undefined, singleCpu));
      rows.push(
        fanoutRow(
          `tuvens: 1 change/s for ${SUSTAINED_CHANGES} s`,
          ours.sustained,
          live,
          sustainedResources,
          sustainedCpu,
        ),
      );
      if (report.dropped || report.outOfOrder) {
        notes.push(`${report.dropped} streams dropped, ${report.outOfOrder} messages out of order`);
      }
      checks.push(
        ...fanoutChecks(
          ours.single,
          ours.sustained,
          live,
          bytesPerConnection,
          report.dropped + report.outOfOrder,
        ),
      );
    } finally {
      await clients?.stop();
      client.close();
      await api.stop();
    }

    // ── the ceiling: a raw node:http broadcaster with the same clients
    try {
      const raw = await rawCeiling(rows);
      const ourAll = summarize(ours.single.flatMap((delivery) => delivery.latenciesMs));
      const ourEvery = summarize(ours.single.map((delivery) => Math.max(...delivery.latenciesMs)));
      checks.push({
        target: 'ratio to a raw node:http broadcaster (ceiling, no target)',
        measured:
          `p99 ${fmt(ourAll.p99 / raw.all.p99, 1)}×, every client ${fmt(ourEvery.p50 / raw.every.p50, 1)}× ` +
          `(${fmt(ourEvery.p50, 0)} vs ${fmt(raw.every.p50, 0)} ms)`,
        pass: null,
      });
    } catch (error) {
      notes.push(`raw node:http ceiling failed: ${errorText(error)}`);
    }

    notes.push(
      `Clients: ${CLIENTS.toLocaleString('en-US')} streams from one separate process (bare TCP sockets that send one GET and never reconnect), ` +
        'subscribed to one public event. Latency = from the runner starting the webhook request (or, for the ' +
        'raw broadcaster, the publish request) to a client receiving the message, on the shared monotonic ' +
        'clock. Ours includes verifying, applying and committing the webhook, NOTIFY, LISTEN and reading ' +
        'the change log; the raw broadcaster writes what it is given. Memory per stream = growth of the ' +
        'API’s RSS (after a last-resort GC) from no streams to all of them open; kernel socket buffers are not in it.',
    );
    return ok(rows, checks, notes);
  },
};

function fanoutChecks(
  single: Delivery[],
  sustained: Delivery[],
  live: number,
  bytesPerConnection: number,
  disorder: number,
): Check[] {
  const all = summarize(single.flatMap((delivery) => delivery.latenciesMs));
  const missing = single.reduce((sum, delivery) => sum + delivery.missing, 0);
  const sustainedMissing = sustained.reduce((sum, delivery) => sum + delivery.missing, 0);
  const worstLag = Math.max(...sustained.map((delivery) => Math.max(...delivery.latenciesMs)));
  return [
    {
      target: `p99 ≤ ${TARGET_P99_MS} ms from webhook to client, ${CLIENTS} streams`,
      measured: `${fmt(all.p99, 1)} ms`,
      pass: all.p99 <= TARGET_P99_MS && live === CLIENTS,
    },
    {
      target: 'every client receives it',
      measured: `${live * single.length - missing} of ${CLIENTS * single.length} deliveries`,
      pass: missing === 0 && live === CLIENTS,
    },
    {
      target: `memory per stream ≤ ${TARGET_BYTES_PER_CONNECTION / 1024} KiB`,
      measured: `${fmt(bytesPerConnection / 1024, 1)} KiB RSS`,
      pass: bytesPerConnection <= TARGET_BYTES_PER_CONNECTION,
    },
    {
      target: `1 change/s for ${sustained.length} s: no client falls behind (each change arrives before the next is sent, none lost)`,
      measured: `${live * sustained.length - sustainedMissing} of ${CLIENTS * sustained.length} delivered, worst lag ${fmt(worstLag, 0)} ms`,
      pass: sustainedMissing === 0 && disorder === 0 && worstLag < SUSTAINED_INTERVAL_MS && live === CLIENTS,
    },
  ];
}

async function rawCeiling(rows: Row[]) {
  const server = startNodeChild(join(BENCH_DIR, 'sse-raw-broadcaster.ts'), {
    name: 'raw-sse',
    profile: true,
  });
  let clients: Clients | undefined;
  try {
    const { port } = await server.message(
      (message): message is { type: 'raw:ready'; port: number } =>
        (message as { type?: string })?.type === 'raw:ready',
      30_000,
    );
    const url = `http://127.0.0.1:${port}`;
    const publisher = new HttpClient(url, 1);
    const before = await server.memory();
    clients = new Clients('sse-clients-raw');
    const meter = await startMeter(server.pid);
    const connected = await clients.connect(url, '/updates', false);
    const resources = await meter.stop();
    const after = await server.memory();
    const live = connected.live;
    rows.push({
      label: 'raw node:http: open streams',
      concurrency: CLIENTS,
      operations: live,
      failed: connected.failed,
      throughputPerS: (live / connected.elapsedMs) * 1000,
      resources,
      extra: { 'RSS KiB/stream': (after.rss - before.rss) / Math.max(1, live) / 1024 },
    });
    let sequence = 0;
    const { sentAt, cpu } = await sendOneByOne(clients, server.pid, SINGLE_CHANGES, async () => {
      sequence += 1;
      // The same payload as a tuvens status message, so both write the same bytes.
      const body = JSON.stringify({
        type: 'ticketing_status_changed',
        eventId: 1,
        status: sequence % 2 ? 'inactive' : 'active',
        hiEventsEventUrl: 'http://127.0.0.1:4200/event/7001/bench-event',
        timestamp: new Date().toISOString(),
      });
      const started = nowMs();
      const answer = await publisher.request('POST', '/publish', { body });
      if (answer.status !== 204) throw new Error(`publish: ${answer.status}`);
      return started;
    });
    publisher.close();
    const single = deliveries(await clients.report(), sentAt, live);
    rows.push(fanoutRow('raw node:http: one change → every stream', single, live, undefined, cpu));
    return {
      all: summarize(single.flatMap((delivery) => delivery.latenciesMs)),
      every: summarize(single.map((delivery) => Math.max(...delivery.latenciesMs))),
    };
  } finally {
    await clients?.stop();
    await server.stop();
  }
}
