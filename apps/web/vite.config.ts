import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/**
 * SvelteKit's route announcer carries an inline `style` attribute (`@sveltejs/kit`'s
 * `src/runtime/components/root.svelte`), which `style-src 'self'` refuses with a console error on every
 * page. Exactly that attribute is allowed, by its hash, read from the installed SvelteKit so that an
 * upgrade that changes it keeps working; no other inline style is.
 */
function announcerStyleHashes(): `sha256-${string}`[] {
  try {
    const root = readFileSync(
      new URL('../../node_modules/@sveltejs/kit/src/runtime/components/root.svelte', import.meta.url),
      'utf8',
    );
    return [...root.matchAll(/\sstyle="([^"]+)"/g)].map(
      (match) => `sha256-${createHash('sha256').update(match[1]!).digest('base64')}` as const,
    );
  } catch {
    return [];
  }
}

const ANNOUNCER_STYLE_HASHES = announcerStyleHashes();

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter(),
      // SvelteKit's own origin check needs the site's scheme, which adapter-node cannot know on plain http
      // without a proxy; hooks.server.ts checks every state-changing request instead (#lib/server/same-origin.ts).
      csrf: { trustedOrigins: ['*'] },
      // Run-time origins (Hi.Events, the API) are added to this policy in hooks.server.ts.
      csp: {
        // Hashes, not per-response nonces: a page drawn once may be served again (#lib/server/page-cache.ts).
        mode: 'hash',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          'style-src': ['self'],
          ...(ANNOUNCER_STYLE_HASHES.length > 0 && {
            'style-src-attr': ['unsafe-hashes' as const, ...ANNOUNCER_STYLE_HASHES],
          }),
          'img-src': ['self', 'data:'],
          'font-src': ['self'],
          'object-src': ['none'],
          'base-uri': ['self'],
          'frame-ancestors': ['none'],
        },
      },
    }),
  ],
});
