import { guardMetrics } from '@tuvens/server';
import { z } from 'zod';
import type { App, AppContext } from './context.ts';

const Health = z.object({ status: z.enum(['ok', 'ready', 'unavailable']), database: z.boolean().optional() });

export function registerHealthRoutes(app: App, ctx: AppContext): void {
  app.get('/healthz', { schema: { response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const database = await ctx.database.ping();
    return reply.status(database ? 200 : 503).send({ status: database ? 'ready' : 'unavailable', database });
  });

  // Browsers ask every site for one; answering "none" keeps that out of the logs as a 404.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.status(204).send());

  const guard = guardMetrics({ token: ctx.config.metricsToken, production: ctx.config.env === 'production' });
  app.get('/metrics', { onRequest: guard }, async (_request, reply) =>
    reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
}
