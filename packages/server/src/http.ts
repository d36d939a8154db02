import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { registerErrorHandler } from './error-handler.ts';
import { frameworkErrorOptions } from './framework-errors.ts';

/** A server whose routes are typed and checked by their zod schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The window of every rate limit. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** A per-route rate limit: `max` requests a minute from one client address. */
export function perMinute(max: number) {
  return { rateLimit: { max, timeWindow: RATE_LIMIT_WINDOW_MS } };
}

export interface ServerOptions {
  logLevel: string;
  /** Headers whose values never reach a log line, in requests and in answers. */
  redactedHeaders: readonly string[];
  bodyLimit: number;
  trustProxy: boolean;
  /** Fastify's logger option, to replace the JSON logs (tests pass their own). */
  logger?: FastifyServerOptions['logger'] | undefined;
}

/**
 * The Fastify instance every server starts from: JSON logs with secrets redacted, a request id per
 * request (the caller's `x-request-id`, or a new one), zod schemas checking requests and answers,
 * and every refusal, down to malformed HTTP, in the one error shape.
 */
export function createServer(options: ServerOptions): App {
  const app = Fastify({
    logger: options.logger ?? {
      level: options.logLevel,
      redact: {
        paths: options.redactedHeaders.flatMap((header) => [
          `req.headers["${header}"]`,
          `res.headers["${header}"]`,
        ]),
        censor: '[redacted]',
      },
    },
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ...frameworkErrorOptions,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  return app;
}
