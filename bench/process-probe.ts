import { writeHeapSnapshot } from 'node:v8';

/**
 * Preloaded (`--import`) into every server the bench starts. On request over the IPC channel it
 * runs a full garbage collection and reports `process.memoryUsage()` (so memory per connection is
 * measured on live objects, not on garbage that happened to be waiting), or writes a heap snapshot.
 */
type ProbeRequest = { type: 'probe:memory' } | { type: 'probe:heap-snapshot'; path: string };

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

process.on('message', (message: ProbeRequest) => {
  if (message?.type === 'probe:memory') {
    collectGarbage();
    process.send?.({ type: 'probe:memory', memory: process.memoryUsage() });
  } else if (message?.type === 'probe:heap-snapshot') {
    collectGarbage();
    process.send?.({ type: 'probe:heap-snapshot', path: writeHeapSnapshot(message.path) });
  }
});
