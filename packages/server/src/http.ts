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
  /** Which peers may report a client's address in `X-Forwarded-For` (see `trustProxySetting`). */
  trustProxy: boolean | number | string[];
  /** The whole request must have arrived within this; 0 for none. Streams are not affected once answered. */
  requestTimeoutMs?: number;
  /** A connection silent for this long is closed; streams turn it off for their own connections. */
  connectionTimeoutMs?: number;
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
    // A hop count: the address that many proxies back (Fastify's own reading of a number, typed as a function).
    trustProxy:
      typeof options.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(options.trustProxy)
        : options.trustProxy,
    requestTimeout: options.requestTimeoutMs ?? 0,
    connectionTimeout: options.connectionTimeoutMs ?? 0,
    // Node checks for requests past their timeout on this interval (30 s by default), which would let
    // a slow request outlive a short timeout by that much; and it judges the request timeout only
    // while the headers timeout (60 s by default) is no longer than it.
    http: options.requestTimeoutMs
      ? {
          requestTimeout: options.requestTimeoutMs,
          headersTimeout: Math.min(60_000, options.requestTimeoutMs),
          connectionsCheckingInterval: Math.min(30_000, Math.max(100, options.requestTimeoutMs / 4)),
        }
      : {},
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ...frameworkErrorOptions,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  return app;
}
