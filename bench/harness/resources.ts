/** CPU time and memory of the processes under test, read from /proc. */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { type BenchDatabase, queryBenchDatabase } from './database.ts';
import type { LoadResult } from './load.ts';

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User plus system CPU ticks of a process (`kernelOnly`: system time alone); 0 once it is gone. */
function processCpuTicks(pid: number, kernelOnly = false): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (kernelOnly ? 0 : Number(fields[11])) + Number(fields[12]);
}

function machineCpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** Resident set size in bytes; 0 once the process is gone. */
export function processRssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface ResourceUse {
  /** CPU time of the server process per wall-clock second, in % of one core. */
  serverCpuPercent: number;
  /** The part of it spent in the kernel (system time: syscalls, and loopback TCP processed on its behalf). */
  serverKernelCpuPercent: number;
  /** The same for the PostgreSQL backends connected to the bench database (undefined on PGlite). */
  postgresCpuPercent: number | undefined;
  /** The same for this process, the load generator. */
  loadGeneratorCpuPercent: number;
  /** Busy time of the whole machine (everything, other users included), in % of all cores. */
  machineCpuPercent: number;
  /**
   * CPU used by anything but the server, its PostgreSQL backends and the load generator (other
   * users of the machine, PostgreSQL's background processes, the kernel), in % of one core: the noise.
   */
  otherCpuPercent: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
}

async function postgresBackendPids(database: BenchDatabase | undefined): Promise<number[]> {
  if (!database?.url) return [];
  const rows = await queryBenchDatabase<{ pid: number }>(
    database,
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  return rows.map((row) => row.pid);
}

/** CPU time a process has used so far, in ms (user plus system). */
export function processCpuMs(pid: number): number {
  return (processCpuTicks(pid) / CLOCK_TICKS_PER_S) * 1000;
}

function sumCpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += processCpuTicks(pid);
  return total;
}

/** CPU ticks each process has used since `start` (a process gone meanwhile, whose ticks read 0, counts 0). */
function sumCpuTicksSince(start: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of start) total += Math.max(0, processCpuTicks(pid) - ticks);
  return total;
}

/**
 * Starts measuring CPU and memory until `stop`: the server's, the bench database's PostgreSQL
 * backends' (those connected at the start, and whole those that connected meanwhile, as a pool
 * growing again after its idle connections closed), this load generator's and the machine's.
 */
export async function startMeter(
  serverPid: number,
  database?: BenchDatabase,
): Promise<{ stop(): Promise<ResourceUse> }> {
  const backends = await postgresBackendPids(database);
  const startedAt = performance.now();
  const cpuStart = processCpuTicks(serverPid);
  const kernelStart = processCpuTicks(serverPid, true);
  const postgresStart = new Map(backends.map((pid) => [pid, processCpuTicks(pid)]));
  const selfStart = process.cpuUsage();
  const machineStart = machineCpuTicks();
  const rssStart = processRssBytes(serverPid);
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, processRssBytes(serverPid));
  }, 100);
  return {
    async stop() {
      clearInterval(sampler);
      const seconds = (performance.now() - startedAt) / 1000;
      const started = new Set(backends);
      const joined = (await postgresBackendPids(database)).filter((pid) => !started.has(pid));
      const percentOfCore = (ticks: number) => (ticks / CLOCK_TICKS_PER_S / seconds) * 100;
      const self = process.cpuUsage(selfStart);
      const machineEnd = machineCpuTicks();
      const rssEnd = processRssBytes(serverPid);
      rssPeak = Math.max(rssPeak, rssEnd);
      const serverCpuPercent = percentOfCore(processCpuTicks(serverPid) - cpuStart);
      const postgresCpuPercent = database?.url
        ? percentOfCore(sumCpuTicksSince(postgresStart) + sumCpuTicks(joined))
        : undefined;
      const loadGeneratorCpuPercent = ((self.user + self.system) / 1e6 / seconds) * 100;
      const machineCpuPercent =
        ((machineEnd.busy - machineStart.busy) / Math.max(1, machineEnd.total - machineStart.total)) * 100;
      return {
        serverCpuPercent,
        serverKernelCpuPercent: percentOfCore(processCpuTicks(serverPid, true) - kernelStart),
        postgresCpuPercent,
        loadGeneratorCpuPercent,
        machineCpuPercent,
        otherCpuPercent: Math.max(
          0,
          machineCpuPercent * os.cpus().length -
            serverCpuPercent -
            (postgresCpuPercent ?? 0) -
            loadGeneratorCpuPercent,
        ),
        rssStartMiB: rssStart / 2 ** 20,
        rssEndMiB: rssEnd / 2 ** 20,
        rssPeakMiB: rssPeak / 2 ** 20,
      };
    },
  };
}

/** Measures one load run against a server process. */
export async function measureLoad(
  server: { pid: number; database?: BenchDatabase | undefined },
  load: () => Promise<LoadResult>,
): Promise<{ load: LoadResult; resources: ResourceUse }> {
  const meter = await startMeter(server.pid, server.database);
  const result = await load();
  return { load: result, resources: await meter.stop() };
}
