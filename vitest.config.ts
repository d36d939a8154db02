import { defineConfig } from 'vitest/config';

// One run over every workspace; each workspace's own vitest.config.ts names and configures its project.
// The web app's browser tests are a project of their own (real servers and Chromium).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'apps/web/vitest.e2e.config.ts'],
    globalSetup: ['packages/testing/src/vitest-global-setup.ts'],
  },
});
