import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Not part of `npm test`: these tests stop and start the shared PostgreSQL server, kill processes and
// run for minutes. One file at a time, with generous time limits for a busy machine.
export default defineConfig({
  test: {
    name: 'reliability',
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['reliability/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    // In-process servers (`startTestApi`, `startTestStack`) put their databases on the real server too.
    env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
