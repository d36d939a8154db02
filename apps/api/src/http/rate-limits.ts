import rateLimit from '@fastify/rate-limit';
import { recordAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, RATE_LIMIT_WINDOW_MS, requestOrigin } from './context.ts';

/**
 * Rate limits, set per route with `perMinute` on the cross-app, webhook and beacon routes. A refused
 * request is a 429 in the one error shape. The first refusal of a client on a route in each window
 * also goes to the audit log, so that a flood leaves a trace; the refusals after it only count in the
 * HTTP metrics, so that it cannot flood the audit log as well.
 *
 * These are counted in each instance's memory: a client spread over n instances gets up to n times
 * the rate. That costs nothing worth a database statement per request here, since what they guard is
 * unguessable (256-bit session tokens, shared secrets, HMAC signatures) or harmless (the beacon); they
 * keep a flood from one client off the instance. The sign-in limits, where n times the guesses would
 * matter, are shared through the database instead (auth/login-limits.ts).
 */
export async function registerRateLimits(app: App, ctx: AppContext): Promise<void> {
  /** When each client's current window on each route ends, for those already audited in it. */
  const audited = new Map<string, number>();

  await app.register(rateLimit, {
    global: false,
    // The browser's address where the web server vouches for it (client-address.ts).
    keyGenerator: (request) => request.clientAddress || request.ip,
    onExceeded(request, key) {
      const now = ctx.clock();
      const route = request.routeOptions.url ?? 'unmatched';
      const client = `${request.method} ${route} ${key}`;
      if ((audited.get(client) ?? 0) > now.getTime()) return;
      // Every window is as long, so the entries are in the order they expire.
      for (const [entry, endsAt] of audited) {
        if (endsAt > now.getTime()) break;
        audited.delete(entry);
      }
      audited.delete(client);
      audited.set(client, now.getTime() + RATE_LIMIT_WINDOW_MS);
      recordAudit(ctx.db, now, {
        action: 'http.rate_limited',
        outcome: 'failure',
        actor: 'anonymous',
        reason: 'rate_limited',
        origin: requestOrigin(request),
        details: { method: request.method, route },
      }).catch((error: unknown) =>
        request.log.error({ err: error }, 'auditing a rate-limited request failed'),
      );
    },
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`),
  });
}
