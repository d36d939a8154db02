import { defineConfig } from 'vitest/config';

// One run over every workspace; each workspace's own vitest.config.ts names and configures its project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
