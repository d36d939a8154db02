import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ceilings } from './ceilings.ts';
import { flashSale } from './flash-sale.ts';
import { handshake } from './handshake.ts';
import {
  type BenchDatabase,
  databaseChoice,
  disposeDatabase,
  errorText,
  formatChecks,
  formatRows,
  log,
  prepareDatabase,
  profiling,
  RESULTS_DIR,
  type Scenario,
  type ScenarioReport,
  scale,
  webBuild,
} from './harness/index.ts';
import { lighthouseScenario } from './lighthouse.ts';
import { pageViews } from './page-views.ts';
import { pageWeight } from './page-weight.ts';
import { summarizeProfile } from './profile-summary.ts';
import { reconnectStorm } from './reconnect-storm.ts';
import { sse50k } from './sse-50k.ts';
import { sseFanout } from './sse-fanout.ts';
import { webhookIngest } from './webhook-ingest.ts';
import { webhookToScreen } from './webhook-to-screen.ts';

/** In the order they run: each later scenario relies on parts the earlier ones exercised alone. */
const SCENARIOS: Scenario[] = [
  handshake,
  webhookIngest,
  sseFanout,
  webhookToScreen,
  pageWeight,
  lighthouseScenario,
  pageViews,
  ceilings,
  reconnectStorm,
  sse50k,
  flashSale,
];

/** No scenario may hold the suite longer than this (or its own `timeoutMs`); each also bounds itself. */
const SCENARIO_TIMEOUT_MS = 6 * 60_000;

const RESULTS_FILE = join(RESULTS_DIR, 'latest.json');

interface ResultsFile {
  updatedAt: string;
  machine: Record<string, string | number>;
  scenarios: ScenarioReport[];
}

function parseArguments(argv: string[]): Scenario[] {
  const names = argv.filter((argument) => !argument.startsWith('--'));
  profiling.enabled = argv.includes('--cpu-prof');
  profiling.heapSnapshots = argv.includes('--heap-snapshot');
  webBuild.enabled = !argv.includes('--no-build');
  databaseChoice.forcePglite = argv.includes('--pglite');
  scale.quick = argv.includes('--quick');
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length) {
    console.error(
      `Unknown scenario ${unknown.join(', ')}. Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
    process.exit(2);
  }
  return names.length ? SCENARIOS.filter((scenario) => names.includes(scenario.name)) : SCENARIOS;
}

function describeMachine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadAverage1mAtStart: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

async function runScenario(scenario: Scenario): Promise<ScenarioReport> {
  let database: BenchDatabase | undefined;
  const base = {
    scenario: scenario.name,
    title: scenario.title,
    ranAt: new Date().toISOString(),
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
  };
  try {
    database = await prepareDatabase();
    log(`${scenario.name}: database ${database.description}`);
    if (database.kind === 'pglite') process.stdout.write(`\n!!! ${database.description}\n`);
    profiling.label = scenario.name;
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = scenario.timeoutMs ?? SCENARIO_TIMEOUT_MS;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const result = await Promise.race([scenario.run({ database }), timeout]).finally(() =>
      clearTimeout(timer),
    );
    return { ...base, database: database.description, ...result };
  } catch (error) {
    log(`${scenario.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
    return {
      ...base,
      database: database?.description ?? 'none',
      status: 'failed',
      reason: errorText(error).split('\n')[0],
      rows: [],
      checks: [],
      notes: [],
    };
  } finally {
    if (database) await disposeDatabase(database);
  }
}

function readPreviousResults(): ScenarioReport[] {
  if (!existsSync(RESULTS_FILE)) return [];
  try {
    return (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as ResultsFile).scenarios ?? [];
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const selected = parseArguments(process.argv.slice(2));
  const machine = describeMachine();
  log(
    `${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average ${machine.loadAverage1mAtStart} (figures are only as quiet as the machine)`,
  );
  const reports: ScenarioReport[] = [];
  for (const scenario of selected) {
    log(`── ${scenario.name}: ${scenario.title}`);
    const report = await runScenario(scenario);
    reports.push(report);
    process.stdout.write(`\n## ${scenario.title} (${scenario.name})\n\n`);
    if (report.rows.length) process.stdout.write(`${formatRows(report)}\n`);
    for (const note of report.notes) process.stdout.write(`- ${note}\n`);
    if (report.status !== 'ok') process.stdout.write(`- ${report.status.toUpperCase()}: ${report.reason}\n`);
    for (const file of profiling.files.splice(0)) {
      if (existsSync(file)) process.stdout.write(`\n\`\`\`\n${summarizeProfile(file)}\n\`\`\`\n`);
    }
  }
  machine.loadAverage1mAtEnd = Number(os.loadavg()[0]!.toFixed(2));

  // A partial run replaces only its own scenarios; each entry keeps the time it was measured.
  const merged = readPreviousResults().filter(
    (old) => !reports.some((fresh) => fresh.scenario === old.scenario),
  );
  const scenarios = [...merged, ...reports].sort(
    (a, b) =>
      SCENARIOS.findIndex((s) => s.name === a.scenario) - SCENARIOS.findIndex((s) => s.name === b.scenario),
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file: ResultsFile = { updatedAt: new Date().toISOString(), machine, scenarios };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(file, null, 2)}\n`);

  process.stdout.write(`\n## Targets\n\n${formatChecks(reports)}\n\n`);
  process.stdout.write(
    `Load average ${machine.loadAverage1mAtStart} at start, ${machine.loadAverage1mAtEnd} at end ` +
      `(${machine.cores} cores). Results written to bench/results/latest.json.\n`,
  );
  // Sockets of a stopped scenario may still be closing; nothing else is left to wait for.
  process.exit(0);
}

await main();
