import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

/**
 * The `onRequest` hook of `/metrics`: with a `METRICS_TOKEN`, only `Authorization: Bearer <token>`
 * may read it; without one it is open outside production and absent (404) in production, where the
 * counters would tell anyone how busy the service is and which routes fail.
 */
export function guardMetrics(options: { token: string | undefined; production: boolean }) {
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  return async (request: FastifyRequest): Promise<void> => {
    if (expected === undefined) {
      if (options.production) throw new HttpError('not_found', 404, 'Route GET /metrics not found');
      return;
    }
    const presented = Buffer.from(request.headers.authorization ?? '');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new HttpError('unauthorized', 401, 'Send the metrics token as Authorization: Bearer <token>');
    }
  };
}
