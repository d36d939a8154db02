import {
  ErrorBody,
  STANDARD_WEBHOOK_HEADERS,
  STATUS_WEBHOOK_MAX_BYTES,
  TICKET_SUMMARY_WEBHOOK_PATH,
  TicketSummaryWebhook,
  TicketSummaryWebhookResponse,
  WEBHOOK_TOLERANCE_MS,
} from '@tuvens/contracts';
import { SEED_SIGNATURE_HEADER } from '@tuvens/contracts/signatures';
import type { FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AnonymousFailureAudit } from '../audit/anonymous-failures.ts';
import { type AuditEntry, recordAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute, requestOrigin } from '../http/context.ts';
import { createWebhookVerifier, isWithinTolerance } from '../webhooks/verify.ts';
import { applyTicketSummary } from './apply-ticket-summary.ts';

const ACTION = 'hi_events.webhook.ticket_summary';

const SignatureHeaders = z.object({
  [SEED_SIGNATURE_HEADER]: z.string().optional().describe('sha256=<hex HMAC-SHA256 of the raw body>'),
  [STANDARD_WEBHOOK_HEADERS.id]: z.string().optional().describe('Standard Webhooks message id'),
  [STANDARD_WEBHOOK_HEADERS.timestamp]: z.string().optional().describe('Standard Webhooks Unix timestamp'),
  [STANDARD_WEBHOOK_HEADERS.signature]: z.string().optional().describe('Standard Webhooks v1,<base64> list'),
});

/**
 * `POST /api/webhooks/hi-events/ticket-summary-changed`: the connector reports an event's ticket summary
 * (docs/contract.md#ticket-summary-webhook). Signatures, tolerance, order of checks and idempotency are
 * those of the status webhook; in its own scope so that its body parser keeps the raw bytes signed.
 */
export function registerTicketSummaryWebhook(app: App, ctx: AppContext): void {
  const verify = createWebhookVerifier(ctx.config.hiEvents.webhookSecrets, ctx.clock);
  const schemes = new WeakMap<FastifyRequest, 'standard-webhooks' | 'seed'>();

  const anonymousFailures = new AnonymousFailureAudit(ctx.db, ctx.clock);
  // A sender who proved nothing is audited once a minute per kind and address, as at the status webhook.
  const auditFailure = async (request: FastifyRequest, reason: string, eventId?: number) => {
    const entry: AuditEntry = {
      action: ACTION,
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

  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: STATUS_WEBHOOK_MAX_BYTES },
      (_, body, done) => done(null, body),
    );

    scope.post(
      TICKET_SUMMARY_WEBHOOK_PATH,
      {
        config: perMinute(ctx.config.rateLimitsPerMinute.webhook),
        bodyLimit: STATUS_WEBHOOK_MAX_BYTES,
        preValidation: verifyThenParse,
        schema: {
          tags: ['webhooks'],
          summary: 'The connector reports an event’s ticket summary (signed; idempotent by id; latest wins)',
          description: [
            'Signed as the status webhook is. 200 `{applied: true}` when stored; 200 `{applied: false, reason}`',
            'for a redelivered id (`duplicate`), a summary observed before the one in force or of a Hi.Events',
            'event the Tuvens event is not linked to (`stale`), or the same summary again (`unchanged`).',
            '401 unsigned or badly signed, 400 malformed, 404 unknown event, 413 over 64 KiB, 429 rate limited.',
          ].join(' '),
          headers: SignatureHeaders,
          body: TicketSummaryWebhook,
          response: {
            200: TicketSummaryWebhookResponse,
            400: ErrorBody,
            401: ErrorBody,
            404: ErrorBody,
            413: ErrorBody,
            429: ErrorBody,
          },
        },
      },
      async (request) => {
        const webhook = request.body;
        const now = ctx.clock();
        const occurredAt = new Date(webhook.occurred_at);
        const eventId = webhook.data.tuvens_event_id;
        const minutes = WEBHOOK_TOLERANCE_MS / 60_000;
        if (schemes.get(request) === 'seed' && !isWithinTolerance(occurredAt, now)) {
          // The seed's signature signs no time, so a captured delivery could otherwise be replayed.
          await auditFailure(request, 'stale_timestamp');
          throw new AppError(
            'stale_timestamp',
            `occurred_at is more than ${minutes} minutes from the server's clock; with only ${SEED_SIGNATURE_HEADER}, deliver within ${minutes} minutes or sign with Standard Webhooks`,
          );
        }
        if (occurredAt.getTime() - now.getTime() > WEBHOOK_TOLERANCE_MS) {
          throw new AppError(
            'validation_failed',
            `body.occurred_at: lies more than ${minutes} minutes ahead of the server's clock`,
          );
        }

        const result = await applyTicketSummary(
          ctx.db,
          {
            webhookId: webhook.id,
            eventId,
            hiEventsEventId: webhook.data.hi_events_event_id,
            summary: webhook.data.summary,
            occurredAt,
            origin: requestOrigin(request),
          },
          now,
        );
        switch (result.outcome) {
          case 'applied':
            ctx.changes.announce(result.change.id);
            return { applied: true };
          case 'skipped':
            return { applied: false, reason: result.reason };
          case 'unknown_event':
            await auditFailure(request, 'unknown_event', eventId);
            throw new AppError('event_not_found', `data.tuvens_event_id: no Tuvens event ${eventId}`);
        }
      },
    );
  });
}
