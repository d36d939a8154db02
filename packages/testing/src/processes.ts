import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.ts';

/**
 * Servers that tests, benchmarks and the reliability suite run as real processes. Each runs in a
 * process group of its own, so stopping it also stops whatever it started. None outlives the run:
 * every group still running is killed when this process exits, and each is recorded in a folder
 * named for the test run, which `killLeftoverProcesses` empties even after a worker was killed.
 */

const MAX_OUTPUT_LINES = 400;
const STOP_GRACE_MS = 10_000;
const RECORDS_DIR = join(tmpdir(), 'tuvens-test-processes');

/** The test run these processes belong to: the Vitest main process sets it; otherwise this process. */
function runId(): string {
  return process.env.TUVENS_TEST_RUN_ID ?? String(process.pid);
}

const running = new Set<ServiceProcess>();

process.once('exit', () => {
  for (const service of running) killGroup(service.pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {}
}

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr, line by line (the newest lines). */
  readonly output: string[];
  /** Resolves once the process has ended. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
  /** How it ended (`exit code 1`, `signal SIGKILL`), or undefined while it runs. */
  exitStatus(): string | undefined;
  /** Its last lines of output, for an error message. */
  lastOutput(lines?: number): string;
  /** SIGKILL to the whole group, as a crash or an OOM kill would end it; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM to the whole group, then SIGKILL if it has not ended within 10 s. */
  stop(): Promise<void>;
}

export interface StartProcessOptions {
  /** Named in errors and output. */
  name: string;
  /** A script for the runner's own Node.js (TypeScript runs as it is), or, with `command`, its arguments. */
  script?: string;
  command?: string;
  args?: string[];
  /** Node.js options before the script, such as `--cpu-prof`. */
  execArgv?: string[];
  cwd: string;
  /** Its whole environment besides `PATH` and `HOME`: nothing else of the runner's is passed on. */
  env?: Record<string, string>;
  /** An IPC channel, for `child.send` and `child.on('message')`. */
  ipc?: boolean;
}

export function startProcess(options: StartProcessOptions): ServiceProcess {
  const command = options.command ?? process.execPath;
  const args = options.command
    ? (options.args ?? [])
    : [...(options.execArgv ?? []), options.script ?? '', ...(options.args ?? [])];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`${options.name} could not be started (${command})`);
  const pid = child.pid;
  const record = join(RECORDS_DIR, `${runId()}-${pid}`);
  mkdirSync(RECORDS_DIR, { recursive: true });
  writeFileSync(record, options.name);

  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > MAX_OUTPUT_LINES) output.splice(0, output.length - MAX_OUTPUT_LINES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
      running.delete(service);
      // Whatever the process started may still run in its group.
      killGroup(pid, 'SIGKILL');
      rmSync(record, { force: true });
      resolve();
    });
  });

  const service: ServiceProcess = {
    name: options.name,
    pid,
    child,
    output,
    exited,
    isRunning: () => exitStatus === undefined,
    exitStatus: () => exitStatus,
    lastOutput: (lines = 40) => output.slice(-lines).join('\n'),
    async kill() {
      if (exitStatus === undefined) killGroup(pid, 'SIGKILL');
      await exited;
    },
    async stop() {
      if (exitStatus !== undefined) return;
      killGroup(pid, 'SIGTERM');
      const ended = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
      if (!ended) await service.kill();
    },
  };
  running.add(service);
  return service;
}

export interface WaitForHttpOptions {
  timeoutMs?: number;
  /** Which answer means ready; any below 500 by default. */
  accept?: (status: number) => boolean;
}

/** Polls `url` until it answers as ready; fails at once, with its output, if the process ends. */
export async function waitForHttp(
  service: ServiceProcess,
  url: string,
  { timeoutMs = 60_000, accept = (status) => status < 500 }: WaitForHttpOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!service.isRunning()) {
      throw new Error(
        `${service.name} ended (${service.exitStatus()}) before ${url} answered:\n${service.lastOutput()}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (accept(response.status)) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${service.name}: ${url} did not answer within ${timeoutMs} ms:\n${service.lastOutput()}`);
}

/** Starts a server and waits until `readyUrl` answers; a server that does not come up is killed. */
export async function startService(
  options: StartProcessOptions & { readyUrl: string } & WaitForHttpOptions,
): Promise<ServiceProcess> {
  const service = startProcess(options);
  try {
    await waitForHttp(service, options.readyUrl, options);
  } catch (error) {
    await service.kill();
    throw error;
  }
  return service;
}

/** Stops every process started here that still runs. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop()));
}

/**
 * Kills the process groups of a test run that are still recorded: those of a worker that was
 * itself killed before it could stop them. For the runner's teardown.
 */
export function killLeftoverProcesses(id = runId()): string[] {
  const killed: string[] = [];
  let records: string[];
  try {
    records = readdirSync(RECORDS_DIR);
  } catch {
    return killed;
  }
  for (const record of records) {
    const [owner, pid] = record.split('-');
    if (owner !== id || !pid) continue;
    try {
      process.kill(-Number(pid), 'SIGKILL');
      killed.push(pid);
    } catch {}
    rmSync(join(RECORDS_DIR, record), { force: true });
  }
  return killed;
}
