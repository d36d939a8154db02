import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'connector',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share their worker's loaded modules (PGlite's WebAssembly among them): each test opens its own
    // database and servers, and closes them, so nothing else carries over.
    isolate: false,
  },
});
