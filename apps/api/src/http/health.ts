import { z } from 'zod';
import type { App, AppContext } from './context.ts';

const Health = z.object({ status: z.enum(['ok', 'ready', 'unavailable']), database: z.boolean().optional() });

export function registerHealthRoutes(app: App, ctx: AppContext): void {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The API can serve requests: its database answers',
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const database = await ctx.database.ping();
      return reply
        .status(database ? 200 : 503)
        .send({ status: database ? 'ready' : 'unavailable', database });
    },
  );
}
