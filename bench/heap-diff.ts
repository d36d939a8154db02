import { readFileSync } from 'node:fs';

/**
 * What grew between two V8 heap snapshots, by constructor: the memory behind a "per connection"
 * figure. `npm run bench -- --heap-snapshot sse-fanout` writes the API's snapshots before and after
 * its streams open and prints this; `node bench/heap-diff.ts before.heapsnapshot after.heapsnapshot [n]`
 * prints it for any two snapshots, per `n` (for example per stream).
 */

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per kind of object (constructor name for objects, the type for the rest). */
function tally(path: string): Map<string, { bytes: number; count: number }> {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const totals = new Map<string, { bytes: number; count: number }>();
  for (let node = 0; node < heap.nodes.length; node += fields.length) {
    const type = types[heap.nodes[node + typeAt!]!] ?? '?';
    const key =
      type === 'object' || type === 'native' ? heap.strings[heap.nodes[node + nameAt!]!]! : `(${type})`;
    const entry = totals.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[node + sizeAt!]!;
    entry.count += 1;
    totals.set(key, entry);
  }
  return totals;
}

export function diffHeapSnapshots(beforePath: string, afterPath: string, per: number, limit = 15): string {
  const before = tally(beforePath);
  const after = tally(afterPath);
  const growth = [...after].map(([key, { bytes, count }]) => ({
    key,
    bytes: bytes - (before.get(key)?.bytes ?? 0),
    count: count - (before.get(key)?.count ?? 0),
  }));
  const total = growth.reduce((sum, entry) => sum + entry.bytes, 0);
  const lines = growth
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit)
    .map(
      (entry) =>
        `${(entry.bytes / per).toFixed(0).padStart(7)} B  ${(entry.count / per).toFixed(2).padStart(6)} ×  ${entry.key}`,
    );
  return [`JS heap growth: ${(total / per / 1024).toFixed(2)} KiB per unit (${per} units)`, ...lines].join(
    '\n',
  );
}

if (import.meta.main) {
  const [before, after, per] = process.argv.slice(2);
  if (!before || !after) throw new Error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [per]');
  console.log(diffHeapSnapshots(before, after, Number(per ?? 1)));
}
