/** Scenario results: rows, checks, and the tables printed from them. */

import os from 'node:os';
import type { BenchDatabase } from './database.ts';
import type { LatencySummary } from './load.ts';
import type { ResourceUse } from './resources.ts';

/** One measured row of a scenario's table. */
export interface Row {
  label: string;
  concurrency?: number | undefined;
  operations?: number | undefined;
  failed?: number | undefined;
  throughputPerS?: number | undefined;
  latencyMs?: LatencySummary | undefined;
  resources?: ResourceUse | undefined;
  /** Free-form figures that do not fit the columns. */
  extra?: Record<string, string | number | boolean> | undefined;
}

/** A target of the issue, with what was measured. `pass: null` means it could not be measured. */
export interface Check {
  target: string;
  measured: string;
  pass: boolean | null;
}

export interface ScenarioReport {
  scenario: string;
  title: string;
  ranAt: string;
  /** The machine's 1-minute load average when the scenario started: how quiet it was. */
  loadAverage1m: number;
  database: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string | undefined;
  rows: Row[];
  checks: Check[];
  notes: string[];
}

/** What a scenario file exports. */
export interface Scenario {
  name: string;
  title: string;
  /** How long it may take at most, when longer than the suite's default of 6 minutes. */
  timeoutMs?: number;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

export interface ScenarioContext {
  /** A fresh database for this scenario alone. */
  database: BenchDatabase;
}

/** What a scenario itself reports; the runner adds when, where and on which database. */
export type ScenarioOutcome = Pick<ScenarioReport, 'status' | 'reason' | 'rows' | 'checks' | 'notes'>;

export function ok(rows: Row[], checks: Check[], notes: string[] = []): ScenarioOutcome {
  return { status: 'ok', rows, checks, notes };
}

export function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  // Rounding a tiny negative (a counter read a moment apart) must not print "-0".
  const shown = Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value;
  return shown.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return errorText(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** CPU time per operation: steadier than rates on a shared machine, since waiting costs none. */
export function cpuMsPerOp(cpuPercent: number | undefined, opsPerS: number | undefined): number | undefined {
  return cpuPercent === undefined || !opsPerS ? undefined : (cpuPercent * 10) / opsPerS;
}

/**
 * What the CPU time measured per operation allows at most on this machine: all cores kept busy by the
 * server, PostgreSQL and the load generator, and one Node.js process (one core) for the server.
 */
export function cpuCeilingNote(what: string, row: Row): string | undefined {
  const perOp = (percent: number | undefined) => cpuMsPerOp(percent, row.throughputPerS);
  const server = perOp(row.resources?.serverCpuPercent);
  const postgres = perOp(row.resources?.postgresCpuPercent) ?? 0;
  const generator = perOp(row.resources?.loadGeneratorCpuPercent) ?? 0;
  if (!server) return undefined;
  const cores = os.cpus().length;
  const machine = (cores * 1000) / (server + postgres + generator);
  return (
    `CPU per ${what} at ${row.concurrency} concurrent: API ${fmt(server, 2)} ms, PostgreSQL ${fmt(postgres, 2)} ms, ` +
    `load generator ${fmt(generator, 2)} ms. At these costs this machine's ${cores} cores allow at most ` +
    `${fmt(machine, 0)}/s, and one Node.js process (one core) at most ${fmt(1000 / server, 0)}/s.`
  );
}

/** A scenario's measured rows as a Markdown table. */
export function formatRows(report: ScenarioReport): string {
  const rows = report.rows.map((row) => [
    row.label,
    row.concurrency === undefined ? '' : String(row.concurrency),
    row.operations === undefined ? '' : `${row.operations}${row.failed ? ` (${row.failed} failed)` : ''}`,
    fmt(row.throughputPerS, 0),
    fmt(row.latencyMs?.p50, 2),
    fmt(row.latencyMs?.p99, 2),
    fmt(row.latencyMs?.max, 2),
    row.resources
      ? `${fmt(row.resources.serverCpuPercent, 0)} (${fmt(row.resources.serverKernelCpuPercent, 0)})`
      : '',
    fmt(cpuMsPerOp(row.resources?.serverCpuPercent, row.throughputPerS), 2),
    fmt(row.resources?.postgresCpuPercent, 0),
    fmt(row.resources?.loadGeneratorCpuPercent, 0),
    fmt(row.resources?.machineCpuPercent, 0),
    fmt(row.resources?.otherCpuPercent, 0),
    row.resources ? `${fmt(row.resources.rssStartMiB, 0)}→${fmt(row.resources.rssPeakMiB, 0)}` : '',
    Object.entries(row.extra ?? {})
      .map(([key, value]) => `${key}: ${typeof value === 'number' ? fmt(value, 2) : value}`)
      .join('; '),
  ]);
  return table(
    [
      'measurement',
      'conc.',
      'ops',
      'ops/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'server CPU % (kernel)',
      'server CPU ms/op',
      'PG CPU %',
      'load gen. CPU %',
      'machine CPU %',
      'other CPU %',
      'server RSS MiB',
      'other',
    ],
    rows,
  );
}

/** Every scenario's targets: target, measured, met or missed. */
export function formatChecks(reports: ScenarioReport[]): string {
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.status !== 'ok') {
      rows.push([report.scenario, '(scenario)', report.reason ?? report.status, report.status.toUpperCase()]);
    }
    for (const check of report.checks) {
      const verdict = check.pass === null ? 'n/a' : check.pass ? 'met' : 'MISSED';
      rows.push([report.scenario, check.target, check.measured, verdict]);
    }
  }
  return table(['scenario', 'target', 'measured', 'result'], rows);
}
