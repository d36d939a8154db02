import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'connector',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Generous, so that a loaded machine does not fail a test; the benchmarks measure real latencies.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The browser tests poll the page: as generous as the web app's, for a loaded machine.
    expect: { poll: { timeout: 10_000, interval: 50 } },
    // Files share their worker's loaded modules (PGlite's WebAssembly among them): each test opens its own
    // database and servers, and closes them, so nothing else carries over.
    isolate: false,
  },
});
