import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

/**
 * Preloaded (`--import`) into every server the bench starts. On request over the IPC channel it
 * runs a full garbage collection (`collectGarbage`) and reports `process.memoryUsage()` (so memory per connection is
 * measured on live objects, not on garbage that happened to be waiting), or writes a heap snapshot,
 * or measures its event-loop delay (`probe:loop-delay:start`, then `probe:loop-delay` for the figures).
 */
type ProbeRequest =
  | { type: 'probe:memory' }
  | { type: 'probe:heap-snapshot'; path: string }
  | { type: 'probe:loop-delay:start' }
  | { type: 'probe:loop-delay' }
  /** Exit now (writing a `--cpu-prof` profile), for a server that does not exit on SIGTERM by itself. */
  | { type: 'probe:exit' };

let loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;

/**
 * A full collection that also gives back what the heap grew for garbage: V8's "last resort" flavour
 * shrinks the young generation, which a burst of short-lived allocations (thousands of streams opening
 * at once) grows to tens of MiB. A plain full GC keeps it, and divided by the streams it would count
 * as memory per stream what is in fact a fixed and temporary cost.
 */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

process.on('message', (message: ProbeRequest) => {
  if (message?.type === 'probe:memory') {
    collectGarbage();
    process.send?.({ type: 'probe:memory', memory: process.memoryUsage() });
  } else if (message?.type === 'probe:heap-snapshot') {
    collectGarbage();
    process.send?.({ type: 'probe:heap-snapshot', path: writeHeapSnapshot(message.path) });
  } else if (message?.type === 'probe:exit') {
    process.exit(0);
  } else if (message?.type === 'probe:loop-delay:start') {
    loopDelay?.disable();
    loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    process.send?.({ type: 'probe:loop-delay:started' });
  } else if (message?.type === 'probe:loop-delay') {
    loopDelay?.disable();
    const ms = (ns: number | undefined) => (ns ?? 0) / 1e6;
    process.send?.({
      type: 'probe:loop-delay',
      delayMs: {
        p50: ms(loopDelay?.percentile(50)),
        p99: ms(loopDelay?.percentile(99)),
        max: ms(loopDelay?.max),
        mean: ms(loopDelay?.mean),
      },
    });
  }
});
