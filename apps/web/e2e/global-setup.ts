import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_CHROMIUM, NO_CHROMIUM_MESSAGE } from '@tuvens/testing';
import { WEB_DIR } from './stack.ts';

const SOURCES = ['src', 'static', 'vite.config.ts', 'package.json', '../../packages/contracts/src'];

function newestChange(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds the web app once when its build is missing or older than its sources; the tests run the build. */
export default function setup(): void {
  // Every browser test, in this project and in the connector's, is skipped; the tests of the web
  // server over HTTP still run, so the app is built either way.
  if (!HAS_CHROMIUM) console.warn(`\n${NO_CHROMIUM_MESSAGE}\n`);
  const built = join(WEB_DIR, 'build/index.js');
  const sourcesChanged = Math.max(...SOURCES.map((source) => newestChange(join(WEB_DIR, source))));
  if (existsSync(built) && statSync(built).mtimeMs > sourcesChanged) return;
  const vite = join(WEB_DIR, '../../node_modules/vite/bin/vite.js');
  // Vitest runs with NODE_ENV=test; the build must be the production one that `npm start` serves.
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: WEB_DIR,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) throw new Error('building the web app failed');
}
