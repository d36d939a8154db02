import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BENCH_DIR,
  type Check,
  fmt,
  HttpClient,
  log,
  nowMs,
  ok,
  type Row,
  type Scenario,
  scale,
  signInOrganizer,
  startApi,
  startMeter,
  startNodeChild,
  statusWalker,
  summarize,
} from './harness/index.ts';
import { type ClientAnswer, idNumber } from './sse-clients.ts';
import { type ClientSet, Clients, deliveries, fanoutRow, sendOneByOne } from './sse-fanout.ts';

const STREAMS = 50_000;
const QUICK_STREAMS = 6_000;
/** Streams per clients process: each process keeps below a descriptor limit of 20,000. */
const STREAMS_PER_PROCESS = 12_500;
/** Descriptors the server keeps for everything but streams (database pool, listener, files). */
const DESCRIPTOR_HEADROOM = 1_000;
const CHANGES = 10;
const CONNECT_TIMEOUT_MS = 240_000;
const TARGET_P99_MULTIPLE = 1.0;
const TARGET_MEMORY_MULTIPLE = 1.15;

type Report = Extract<ClientAnswer, { type: 'report' }>;

/** The soft limit on open files of this process, which the servers it starts inherit. */
function descriptorLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isFinite(soft) ? soft : 1_024;
}

/** Several clients processes, each connecting from its own loopback address, driven as one. */
class ClientGroup implements ClientSet {
  readonly members: Clients[];

  constructor(name: string, total: number) {
    const processes = Math.max(2, Math.ceil(total / STREAMS_PER_PROCESS));
    this.members = Array.from(
      { length: processes },
      (_, index) =>
        new Clients(
          `${name}-${index + 1}`,
          Math.floor(total / processes) + (index < total % processes ? 1 : 0),
        ),
    );
  }

  get completed(): number {
    return Math.min(...this.members.map((member) => member.completed));
  }

  get pids(): readonly number[] {
    return this.members.map((member) => member.pid);
  }

  async completion(count: number, timeoutMs: number): Promise<void> {
    await Promise.all(this.members.map((member) => member.completion(count, timeoutMs)));
  }

  /** Each process from 127.0.0.(2 + its index), so that no address runs out of ephemeral ports. */
  async connect(url: string, path: string, waitForReadyEvent: boolean) {
    const answers = await Promise.all(
      this.members.map((member, index) =>
        member.connect(url, path, waitForReadyEvent, {
          localAddress: `127.0.0.${2 + index}`,
          timeoutMs: CONNECT_TIMEOUT_MS,
        }),
      ),
    );
    return {
      live: answers.reduce((sum, answer) => sum + answer.live, 0),
      failed: answers.reduce((sum, answer) => sum + answer.failed, 0),
      firstError: answers.find((answer) => answer.firstError)?.firstError,
      elapsedMs: Math.max(...answers.map((answer) => answer.elapsedMs)),
    };
  }

  /** The processes' reports as one: each message's arrivals, process after process. */
  async report(): Promise<Report> {
    const reports = await Promise.all(this.members.map((member) => member.report()));
    const ids = [...new Set(reports.flatMap((report) => report.messages.map((message) => message.id)))].sort(
      (a, b) => idNumber(a) - idNumber(b),
    );
    return {
      type: 'report',
      messages: ids.map((id) => ({
        id,
        arrivalsMs: reports.flatMap(
          (report, index) =>
            report.messages.find((message) => message.id === id)?.arrivalsMs ??
            new Array<null>(this.members[index]!.count).fill(null),
        ),
      })),
      dropped: reports.reduce((sum, report) => sum + report.dropped, 0),
      outOfOrder: reports.reduce((sum, report) => sum + report.outOfOrder, 0),
      doubled: reports.reduce((sum, report) => sum + report.doubled, 0),
      reconnected: reports.reduce((sum, report) => sum + report.reconnected, 0),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.stop()));
  }
}

interface Side {
  p99Ms: number;
  everyClientP50Ms: number;
  bytesPerStream: number;
  live: number;
}

/** Opens `streams` streams, sends `CHANGES` changes one by one, and adds the rows of one side. */
async function measureSide(options: {
  label: string;
  server: { pid: number; memory(): Promise<NodeJS.MemoryUsage> };
  url: string;
  path: string;
  waitForReadyEvent: boolean;
  streams: number;
  change: () => Promise<number>;
  rows: Row[];
  notes: string[];
}): Promise<Side> {
  const { label, server, rows, streams } = options;
  const before = await server.memory();
  const clients = new ClientGroup(`sse-50k-${label.split(/\W/)[0]}`, streams);
  try {
    const meter = await startMeter(server.pid);
    log(`${label}: opening ${streams} streams from ${clients.members.length} processes`);
    const connected = await clients.connect(options.url, options.path, options.waitForReadyEvent);
    const resources = await meter.stop();
    const after = await server.memory();
    const bytesPerStream = (after.rss - before.rss) / Math.max(1, connected.live);
    rows.push({
      label: `${label}: open streams`,
      concurrency: streams,
      operations: connected.live,
      failed: connected.failed,
      throughputPerS: (connected.live / connected.elapsedMs) * 1000,
      resources,
      extra: {
        'RSS KiB/stream': bytesPerStream / 1024,
        'JS heap KiB/stream':
          (after.heapUsed + after.external - before.heapUsed - before.external) / connected.live / 1024,
      },
    });
    if (connected.failed)
      options.notes.push(`${label}: ${connected.failed} streams failed to open: ${connected.firstError}`);
    const { sentAt, cpu } = await sendOneByOne(clients, server.pid, CHANGES, options.change);
    const report = await clients.report();
    const measured = deliveries(report, sentAt, connected.live);
    rows.push(fanoutRow(`${label}: one change → every stream`, measured, connected.live, undefined, cpu));
    if (report.dropped || report.outOfOrder) {
      options.notes.push(
        `${label}: ${report.dropped} streams dropped, ${report.outOfOrder} messages out of order`,
      );
    }
    return {
      p99Ms: summarize(measured.flatMap((delivery) => delivery.latenciesMs)).p99,
      everyClientP50Ms: summarize(measured.map((delivery) => Math.max(...delivery.latenciesMs))).p50,
      bytesPerStream,
      live: connected.live,
    };
  } finally {
    await clients.stop();
  }
}

export const sse50k: Scenario = {
  name: 'sse-50k',
  title:
    '50,000 SSE streams on one instance: fan-out and memory per stream, vs the bare node:http broadcaster',
  timeoutMs: 15 * 60_000,
  async run({ database }) {
    const rows: Row[] = [];
    const notes: string[] = [];
    const wanted = scale.quick ? QUICK_STREAMS : STREAMS;
    const limit = descriptorLimit();
    const streams = Math.min(wanted, limit - DESCRIPTOR_HEADROOM);
    if (streams < wanted) {
      notes.push(
        `FEWER STREAMS THAN ASKED: ${streams.toLocaleString('en-US')} instead of ${wanted.toLocaleString('en-US')}, ` +
          `because this machine's descriptor limit is ${limit.toLocaleString('en-US')} and cannot be raised here ` +
          `(bench/run.sh raises it to ${STREAMS + 10_000} where the hard limit allows). Both sides ran at the same count.`,
      );
    }

    // ── tuvens-api
    const api = await startApi(database);
    const client = new HttpClient(api.url, 1);
    let ours: Side;
    try {
      const { eventId } = await signInOrganizer(client);
      const walk = statusWalker(client, eventId);
      const change = async () => (await walk()).sentAt;
      await change();
      await change();
      ours = await measureSide({
        label: 'tuvens',
        server: api,
        url: api.url,
        path: `/api/events/updates?eventIds=${eventId}`,
        waitForReadyEvent: true,
        streams,
        change,
        rows,
        notes,
      });
    } finally {
      client.close();
      await api.stop();
    }

    // ── the bare node:http broadcaster at the same count
    const raw = startNodeChild(join(BENCH_DIR, 'sse-raw-broadcaster.ts'), {
      name: 'raw-sse-50k',
      profile: true,
    });
    let theirs: Side;
    try {
      const { port } = await raw.message(
        (message): message is { type: 'raw:ready'; port: number } =>
          (message as { type?: string })?.type === 'raw:ready',
        30_000,
      );
      const url = `http://127.0.0.1:${port}`;
      const publisher = new HttpClient(url, 1);
      let sequence = 0;
      try {
        theirs = await measureSide({
          label: 'raw node:http',
          server: raw,
          url,
          path: '/updates',
          waitForReadyEvent: false,
          streams,
          rows,
          notes,
          change: async () => {
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
          },
        });
      } finally {
        publisher.close();
      }
    } finally {
      await raw.stop();
    }

    const p99Multiple = ours.p99Ms / theirs.p99Ms;
    const memoryMultiple = ours.bytesPerStream / theirs.bytesPerStream;
    const checks: Check[] = [
      {
        target: `fan-out p99 ≤ ${fmt(TARGET_P99_MULTIPLE, 1)}× the bare broadcaster's at ${streams.toLocaleString('en-US')} streams`,
        measured: `${fmt(p99Multiple, 2)}× (${fmt(ours.p99Ms, 0)} vs ${fmt(theirs.p99Ms, 0)} ms; every client has it, median ${fmt(ours.everyClientP50Ms, 0)} vs ${fmt(theirs.everyClientP50Ms, 0)} ms)`,
        pass: p99Multiple <= TARGET_P99_MULTIPLE && ours.live === streams,
      },
      {
        target: `memory per stream ≤ ${fmt(TARGET_MEMORY_MULTIPLE, 2)}× the bare broadcaster's`,
        measured: `${fmt(memoryMultiple, 2)}× (${fmt(ours.bytesPerStream / 1024, 1)} vs ${fmt(theirs.bytesPerStream / 1024, 1)} KiB RSS)`,
        pass: memoryMultiple <= TARGET_MEMORY_MULTIPLE,
      },
    ];
    notes.push(
      'Latency = from the runner starting the webhook (or the bare publish) to a client receiving the message, on the ' +
        'shared monotonic clock; ours includes verifying, applying and committing the webhook, NOTIFY, LISTEN and reading ' +
        'the change log. Memory per stream = growth of the server’s RSS after a last-resort GC from no streams to all open. ' +
        'Clients are bare TCP sockets in several processes, each from its own loopback address (127.0.0.2, .3, …), ' +
        'so no address runs out of ephemeral ports.',
    );
    if (scale.quick) notes.push(`--quick: ${QUICK_STREAMS.toLocaleString('en-US')} streams.`);
    return ok(rows, checks, notes);
  },
};
