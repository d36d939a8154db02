import { ErrorBody, WIDGET_LOAD_BEACON_PATH, WidgetLoadReport } from '@tuvens/contracts';
import { guardMetrics } from '@tuvens/server';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute } from '../http/context.ts';
import type { Metrics } from './metrics.ts';

const BEACON_MAX_BYTES = 1024;

/** Prometheus metrics, and the beacon through which browsers report how the ticket widget loaded. */
export function registerOperationsRoutes(app: App, ctx: AppContext, metrics: Metrics): void {
  app.get(
    '/metrics',
    {
      schema: { hide: true },
      onRequest: guardMetrics({
        token: ctx.config.metricsToken,
        production: ctx.config.env === 'production',
      }),
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );

  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    // navigator.sendBeacon sends a string as text/plain, which needs no CORS preflight.
    scope.addContentTypeParser(
      'text/plain',
      { parseAs: 'string', bodyLimit: BEACON_MAX_BYTES },
      (_request, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new AppError('invalid_json', 'The request body is not valid JSON'));
        }
      },
    );
    scope.post(
      WIDGET_LOAD_BEACON_PATH,
      {
        config: perMinute(ctx.config.rateLimitsPerMinute.beacon),
        bodyLimit: BEACON_MAX_BYTES,
        // The web app's pages send the beacon in no-cors mode, so the browser applies this answer's
        // Cross-Origin-Resource-Policy: the API-wide `same-site` would block it, with a console error on
        // the page, wherever the web app is on another site than the API (or on an IP address, where
        // Chromium counts no two origins as one site). Its answers carry nothing worth protecting.
        onRequest: async (_request, reply) => {
          reply.header('cross-origin-resource-policy', 'cross-origin');
        },
        schema: {
          tags: ['operations'],
          summary:
            'A browser’s report of how long the ticket widget took to load, or that it fell back to the link',
          body: WidgetLoadReport,
          response: { 204: z.null().describe('Recorded'), 400: ErrorBody, 413: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => {
        metrics.widgetLoad.observe({ outcome: request.body.outcome }, request.body.duration_ms / 1000);
        return reply.status(204).send(null);
      },
    );
  });
}
