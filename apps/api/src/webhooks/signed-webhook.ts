import {
  ErrorBody,
  STANDARD_WEBHOOK_HEADERS,
  STATUS_WEBHOOK_MAX_BYTES,
  WEBHOOK_TOLERANCE_MS,
} from '@tuvens/contracts';
import { SEED_SIGNATURE_HEADER } from '@tuvens/contracts/signatures';
import type { FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import { AnonymousFailureAudit } from '../audit/anonymous-failures.ts';
import { type AuditEntry, recordAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute, requestOrigin } from '../http/context.ts';
import { createWebhookVerifier, isWithinTolerance } from './verify.ts';

const SignatureHeaders = z.object({
  [SEED_SIGNATURE_HEADER]: z.string().optional().describe('sha256=<hex HMAC-SHA256 of the raw body>'),
  [STANDARD_WEBHOOK_HEADERS.id]: z.string().optional().describe('Standard Webhooks message id'),
  [STANDARD_WEBHOOK_HEADERS.timestamp]: z.string().optional().describe('Standard Webhooks Unix timestamp'),
  [STANDARD_WEBHOOK_HEADERS.signature]: z.string().optional().describe('Standard Webhooks v1,<base64> list'),
});

const MINUTES = WEBHOOK_TOLERANCE_MS / 60_000;

/** What a handler of a signed webhook is given besides the parsed body. */
export interface SignedWebhookContext {
  request: FastifyRequest;
  /** The server's clock when the handler began. */
  now: Date;
  /** The body's `occurred_at`. */
  occurredAt: Date;
  /** Audits a refusal; without an event id the sender is anonymous and audited once a minute per kind and address. */
  auditFailure(reason: string, eventId?: number): Promise<void>;
}

/** One signed Hi.Events webhook: what is its own; the signatures and their checks are shared. */
export interface SignedWebhookRoute<
  Body extends z.ZodType<{ occurred_at: string }>,
  Answer extends z.ZodType,
> {
  path: string;
  /** The audit log action of its refusals. */
  action: string;
  summary: string;
  description: string;
  body: Body;
  /** The 200 answer. */
  answer: Answer;
  /** Error statuses its handler answers, besides the 400, 401, 413 and 429 of every signed webhook. */
  refusals: readonly number[];
  /** Counts a refusal, before it is audited. */
  onRefusal?: (reason: string) => void;
  handle(webhook: z.output<Body>, context: SignedWebhookContext): Promise<z.output<Answer>>;
}

/**
 * Registers a signed webhook (docs/contract.md#webhook-signatures) in a scope of its own, whose body
 * parser keeps the raw bytes the signatures cover. Strangers get a 401 before any 400: the signatures
 * are checked over the raw body before it is parsed, and a delivery signed only with the seed's
 * signature must have been sent within the tolerance, before the handler runs.
 */
export function registerSignedWebhook<
  Body extends z.ZodType<{ occurred_at: string }>,
  Answer extends z.ZodType,
>(app: App, ctx: AppContext, route: SignedWebhookRoute<Body, Answer>): void {
  const verify = createWebhookVerifier(ctx.config.hiEvents.webhookSecrets, ctx.clock);
  const schemes = new WeakMap<FastifyRequest, 'standard-webhooks' | 'seed'>();

  const anonymousFailures = new AnonymousFailureAudit(ctx.db, ctx.clock);
  const auditFailure = async (request: FastifyRequest, reason: string, eventId?: number) => {
    route.onRefusal?.(reason);
    // A sender who proved nothing is audited once a minute per kind and address (anonymous-failures.ts).
    const entry: AuditEntry = {
      action: route.action,
      outcome: 'failure',
      actor: eventId === undefined ? 'anonymous' : 'hi-events',
      eventId,
      reason,
      origin: requestOrigin(request),
    };
    if (eventId === undefined) await anonymousFailures.record(entry);
    else await recordAudit(ctx.db, ctx.clock(), entry);
  };

  async function verifyThenParse(request: FastifyRequest): Promise<void> {
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verification = verify(rawBody, request.headers);
    if (!verification.ok) {
      await auditFailure(request, verification.reason);
      throw new AppError(verification.reason, verification.message);
    }
    schemes.set(request, verification.scheme);
    try {
      request.body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new AppError('invalid_json', 'The request body is not valid JSON');
    }
  }

  const errorStatuses = [400, 401, ...route.refusals, 413, 429];
  // Typed loosely: the app's zod validator and serializer check it, but a generic body is past their inference.
  const schema: FastifySchema = {
    tags: ['webhooks'],
    summary: route.summary,
    description: route.description,
    headers: SignatureHeaders,
    body: route.body,
    response: {
      200: route.answer,
      ...Object.fromEntries(errorStatuses.map((status) => [status, ErrorBody])),
    },
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: STATUS_WEBHOOK_MAX_BYTES },
      (_, body, done) => done(null, body),
    );

    scope.post(
      route.path,
      {
        config: perMinute(ctx.config.rateLimitsPerMinute.webhook),
        bodyLimit: STATUS_WEBHOOK_MAX_BYTES,
        preValidation: verifyThenParse,
        schema,
      },
      async (request) => {
        const webhook = request.body as z.output<Body>;
        const now = ctx.clock();
        const occurredAt = new Date(webhook.occurred_at);
        if (schemes.get(request) === 'seed' && !isWithinTolerance(occurredAt, now)) {
          // The seed's signature has no timestamp of its own, so a captured delivery could be replayed.
          await auditFailure(request, 'stale_timestamp');
          throw new AppError(
            'stale_timestamp',
            `occurred_at is more than ${MINUTES} minutes from the server's clock; with only ${SEED_SIGNATURE_HEADER}, deliver within ${MINUTES} minutes or sign with Standard Webhooks`,
          );
        }
        return route.handle(webhook, {
          request,
          now,
          occurredAt,
          auditFailure: (reason, eventId) => auditFailure(request, reason, eventId),
        });
      },
    );
  });
}

/** Refuses a webhook that says it happened further ahead of the server's clock than the tolerance. */
export function requireNotAheadOfClock(occurredAt: Date, now: Date): void {
  if (occurredAt.getTime() - now.getTime() > WEBHOOK_TOLERANCE_MS) {
    throw new AppError(
      'validation_failed',
      `body.occurred_at: lies more than ${MINUTES} minutes ahead of the server's clock`,
    );
  }
}
