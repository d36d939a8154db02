import { defineConfig } from 'vitest/config';

// The built app in Debian's Chromium against the real api, connector and Hi.Events emulator.
export default defineConfig({
  test: {
    name: 'web-e2e',
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['./e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    // Generous, so a busy machine does not fail a test; the benchmark measures the real latencies.
    expect: { poll: { timeout: 10_000, interval: 50 } },
  },
});
