import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter(),
      // SvelteKit's own origin check needs the site's scheme, which adapter-node cannot know on plain http
      // without a proxy; hooks.server.ts checks every state-changing request instead (#lib/server/same-origin.ts).
      csrf: { trustedOrigins: ['*'] },
      // Run-time origins (Hi.Events, the API) are added to this policy in hooks.server.ts.
      csp: {
        mode: 'auto',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          'style-src': ['self'],
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
