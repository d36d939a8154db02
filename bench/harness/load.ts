/** Closed-loop load generation and latency summaries. */

import { performance } from 'node:perf_hooks';
import { errorText } from './report.ts';

export interface LoadResult {
  completed: number;
  failed: number;
  firstError: string | undefined;
  elapsedMs: number;
  latenciesMs: number[];
  throughputPerS: number;
}

/**
 * A closed loop: `concurrency` workers each start the next operation when their last one ends,
 * until `maxOps` operations have started or `maxDurationMs` has passed, whichever comes first.
 */
export async function runClosedLoop(options: {
  concurrency: number;
  maxOps: number;
  maxDurationMs: number;
  op: (worker: number, index: number) => Promise<void>;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let started = 0;
  let failed = 0;
  let firstError: string | undefined;
  const begin = performance.now();
  const deadline = begin + options.maxDurationMs;
  const worker = async (workerIndex: number) => {
    while (started < options.maxOps && performance.now() < deadline) {
      const index = started++;
      const t0 = performance.now();
      try {
        await options.op(workerIndex, index);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        failed += 1;
        firstError ??= errorText(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  const elapsedMs = performance.now() - begin;
  return {
    completed: latenciesMs.length,
    failed,
    firstError,
    elapsedMs,
    latenciesMs,
    throughputPerS: (latenciesMs.length / elapsedMs) * 1000,
  };
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, in the unit of the input. */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    mean: sorted.length ? total / sorted.length : 0,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}
