import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// Components and browser-side modules in jsdom. The browser tests are the 'web-e2e' project (vitest.e2e.config.ts).
export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  test: {
    name: 'web',
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
    setupFiles: ['./src/test-setup.ts'],
  },
});
