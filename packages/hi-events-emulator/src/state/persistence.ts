import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HiEventsStore, StoreSnapshot } from './store.ts';

const SNAPSHOT_FILE = 'state.json';

/**
 * Keeps the store in `dataDir` across restarts, as a real Hi.Events keeps its database: the snapshot
 * there (if any) is loaded now, and a new one is written after every change. Each write goes to a
 * temporary file that is then renamed over the old one, so a crash mid-write leaves the previous
 * snapshot whole. Answers whether a snapshot was loaded.
 */
export function persistStore(store: HiEventsStore, dataDir: string): { loaded: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SNAPSHOT_FILE);
  let loaded = false;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    store.restore(JSON.parse(text) as StoreSnapshot);
    loaded = true;
  }
  const temporary = `${file}.${process.pid}.tmp`;
  store.onChange(() => {
    writeFileSync(temporary, JSON.stringify(store.snapshot()));
    renameSync(temporary, file);
  });
  return { loaded };
}
