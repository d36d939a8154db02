import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Check,
  fmt,
  HttpClient,
  type LoopDelay,
  log,
  nowMs,
  ok,
  processCpuMs,
  queryBenchDatabase,
  type ResourceUse,
  type Row,
  type Scenario,
  scale,
  signInOrganizer,
  startApi,
  startMeter,
  statusWalker,
  summarize,
} from './harness/index.ts';
import { Clients } from './sse-fanout.ts';

const STREAMS = 10_000;
const QUICK_STREAMS = 2_000;
const MISSED_CHANGES = 5;
const CATCH_UP_TIMEOUT_MS = 60_000;
const PROGRESS_INTERVAL_MS = 100;
const TARGET_CATCH_UP_MS = 10_000;

/**
 * Connections the kernel refused because a listen queue was full, machine-wide (TcpExt ListenOverflows):
 * a client whose SYN is dropped so tries again only after 1, 3, 7… s.
 */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((line) => line.startsWith('TcpExt:'))?.split(' ') ?? [];
  const values = lines.filter((line) => line.startsWith('TcpExt:'))[1]?.split(' ') ?? [];
  return Number(values[names.indexOf('ListenOverflows')] ?? 0);
}

/**
 * Two API instances on one PostgreSQL, every stream on the first. The first is killed (SIGKILL, as a
 * crash or a redeploy without draining), 5 changes are applied through the second while the clients
 * are away, and the clients come back to the second as EventSource does: after the `retry:` the
 * server sent them (1 to 3 s, spread on purpose) plus a little jitter, with `Last-Event-ID`.
 */
export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  title: 'Reconnect storm: 10,000 streams lose their instance and resume on another with Last-Event-ID',
  timeoutMs: 10 * 60_000,
  async run({ database }) {
    if (database.kind !== 'postgres') {
      return {
        status: 'skipped',
        reason: 'two instances need one PostgreSQL server to share',
        rows: [],
        checks: [],
        notes: [],
      };
    }
    const streams = scale.quick ? QUICK_STREAMS : STREAMS;
    const rows: Row[] = [];
    const notes: string[] = [];
    const first = await startApi(database);
    const second = await startApi(database);
    const client = new HttpClient(second.url, 1);
    const clients = new Clients('storm-clients', streams);
    let catchUpMs: number[];
    let lost: number;
    let doubled: number;
    let outOfOrder: number;
    let reconnected: number;
    let resources: ResourceUse;
    let loopDelay: LoopDelay;
    let secondCpuMs: number;
    let lastChangeAfterKillMs: number;
    let overflows: number;
    try {
      const { eventId } = await signInOrganizer(client);
      const change = statusWalker(client, eventId);
      await change();
      await change();

      const { port: secondPort } = new URL(second.url);
      log(`opening ${streams} streams on the first instance`);
      const connected = await clients.connect(first.url, `/api/events/updates?eventIds=${eventId}`, true, {
        reconnectPort: Number(secondPort),
        timeoutMs: 180_000,
      });
      if (connected.live !== streams) {
        throw new Error(`${connected.live} of ${streams} streams opened: ${connected.firstError}`);
      }
      const [{ newest }] = (await queryBenchDatabase<{ newest: number }>(
        database,
        // The streams are anonymous: their ids count public events' changes (docs/contract.md#sse-ids).
        'select coalesce(max(public_seq), 0)::int as newest from ticketing_status_changes',
      )) as [{ newest: number }];

      await second.loopDelayStart();
      const meter = await startMeter(second.pid, database);
      const cpu0 = processCpuMs(second.pid);
      const overflows0 = listenOverflows();
      const killedAt = nowMs();
      log(`SIGKILL to the first instance; ${MISSED_CHANGES} changes through the second`);
      await first.kill();
      for (let index = 0; index < MISSED_CHANGES; index++) await change();
      lastChangeAfterKillMs = nowMs() - killedAt;
      const ids = (
        await queryBenchDatabase<{ id: number }>(
          database,
          `select public_seq::int as id from ticketing_status_changes where public_seq > ${newest} order by public_seq`,
        )
      ).map((row) => `p${row.id}`);
      if (ids.length !== MISSED_CHANGES)
        throw new Error(`${ids.length} changes in the log, not ${MISSED_CHANGES}`);

      const deadline = nowMs() + CATCH_UP_TIMEOUT_MS;
      for (;;) {
        const progress = await clients.progress(ids);
        if (progress.counts.every((count) => count >= streams) || nowMs() > deadline) break;
        await sleep(PROGRESS_INTERVAL_MS);
      }
      // Anything still on its way (a double) has a moment to arrive before the figures are taken.
      await sleep(1_000);
      resources = await meter.stop();
      overflows = listenOverflows() - overflows0;
      secondCpuMs = processCpuMs(second.pid) - cpu0;
      loopDelay = await second.loopDelay();

      const report = await clients.report();
      const missed = report.messages.filter((message) => ids.includes(message.id));
      lost = streams * MISSED_CHANGES;
      catchUpMs = [];
      for (let index = 0; index < streams; index++) {
        let latest = 0;
        let complete = true;
        for (const message of missed) {
          const at = message.arrivalsMs[index];
          if (at === null || at === undefined) complete = false;
          else latest = Math.max(latest, at - killedAt);
        }
        if (complete) catchUpMs.push(latest);
      }
      for (const message of missed) lost -= message.arrivalsMs.filter((at) => at !== null).length;
      doubled = report.doubled;
      outOfOrder = report.outOfOrder;
      reconnected = report.reconnected;
    } finally {
      client.close();
      await clients.stop();
      await first.stop();
      await second.stop();
    }

    const caughtUp = summarize(catchUpMs);
    rows.push({
      label: 'every client has every missed change (from the kill)',
      concurrency: streams,
      operations: catchUpMs.length,
      failed: streams - catchUpMs.length,
      latencyMs: caughtUp,
      resources,
      extra: {
        'second instance CPU ms': secondCpuMs,
        'CPU ms/resumed stream': secondCpuMs / Math.max(1, reconnected),
        'event-loop delay p50/p99/max ms': `${fmt(loopDelay.p50, 1)}/${fmt(loopDelay.p99, 1)}/${fmt(loopDelay.max, 1)}`,
        'streams resumed': String(reconnected),
        'lost messages': String(lost),
        'doubled messages': String(doubled),
        'out of order': String(outOfOrder),
        'listen queue overflows (machine)': String(overflows),
        'last change made at ms': lastChangeAfterKillMs,
      },
    });
    const checks: Check[] = [
      {
        target: `every client has every missed change within ${TARGET_CATCH_UP_MS / 1000} s of the kill`,
        measured:
          `${catchUpMs.length} of ${streams} clients; p50 ${fmt(caughtUp.p50, 0)}, p99 ${fmt(caughtUp.p99, 0)}, ` +
          `max ${fmt(caughtUp.max, 0)} ms; second instance peak RSS ${fmt(resources.rssPeakMiB, 0)} MiB, ` +
          `CPU ${fmt(secondCpuMs, 0)} ms, loop delay max ${fmt(loopDelay.max, 0)} ms`,
        pass: catchUpMs.length === streams && caughtUp.max <= TARGET_CATCH_UP_MS,
      },
      {
        target: 'no missed change lost, none received twice, none out of order',
        measured: `${lost} lost, ${doubled} doubled, ${outOfOrder} out of order`,
        pass: lost === 0 && doubled === 0 && outOfOrder === 0,
      },
    ];
    notes.push(
      'Times count from the SIGKILL; a client waits for the `retry:` its stream carried (1 to 3 s, chosen at random ' +
        'by the server for each stream) plus up to 10 % more before it comes back, so about 1.1 to 3.3 s of every ' +
        'figure is the clients keeping away on purpose. The second instance runs from the start, listening on the ' +
        'same PostgreSQL; its CPU, peak RSS and PostgreSQL backends are measured from the kill until every client ' +
        'had caught up (plus 1 s), its event-loop delay by perf_hooks in its own process.',
    );
    if (scale.quick) notes.push(`--quick: ${QUICK_STREAMS.toLocaleString('en-US')} streams.`);
    return ok(rows, checks, notes);
  },
};
