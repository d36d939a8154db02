import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Where a V8 CPU profile (`--cpu-prof`) spent its time, as text: self time by package (or source
 * folder of ours) and by function. `npm run bench -- --cpu-prof <scenario>` prints this for every
 * server it profiled; `node bench/profile-summary.ts <file.cpuprofile>…` prints it for any profile.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The package a script belongs to, or our source folder, or Node's internals. */
function ownerOf(url: string, functionName: string): string {
  if (SPECIAL.has(functionName)) return functionName;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /\/(apps|packages)\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}/${ours[3] ?? ''}`;
  return basename(url);
}

function rank(totals: Map<string, number>, total: number, limit: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
}

export function summarizeProfile(path: string, limit = 15): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    busy += hits;
    const owner = ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
    const name = `${functionName || '(anonymous)'}  ${url ? `${owner} ${basename(url)}:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return [
    `${basename(path)}: ${seconds.toFixed(1)} s, busy ${((busy / Math.max(1, busy + idle)) * 100).toFixed(0)} % of samples`,
    'self time by package / source folder (% of busy samples):',
    ...rank(byOwner, busy, limit).map((line) => `  ${line}`),
    'self time by function:',
    ...rank(byFunction, busy, limit + 5).map((line) => `  ${line}`),
  ].join('\n');
}

if (import.meta.main) {
  for (const path of process.argv.slice(2)) console.log(`${summarizeProfile(path)}\n`);
}
