import {
  ErrorBody,
  STANDARD_WEBHOOK_HEADERS,
  STATUS_WEBHOOK_MAX_BYTES,
  STATUS_WEBHOOK_PATH,
  StatusWebhook,
  StatusWebhookResponse,
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
import { applyStatusChange } from '../ticketing/apply-status-change.ts';
import { createWebhookVerifier, isWithinTolerance } from './verify.ts';

const ACTION = 'hi_events.webhook.status_changed';

const SignatureHeaders = z.object({
  [SEED_SIGNATURE_HEADER]: z.string().optional().describe('sha256=<hex HMAC-SHA256 of the raw body>'),
  [STANDARD_WEBHOOK_HEADERS.id]: z.string().optional().describe('Standard Webhooks message id'),
  [STANDARD_WEBHOOK_HEADERS.timestamp]: z.string().optional().describe('Standard Webhooks Unix timestamp'),
  [STANDARD_WEBHOOK_HEADERS.signature]: z.string().optional().describe('Standard Webhooks v1,<base64> list'),
});

/**
 * `POST /api/webhooks/hi-events/event-status-changed`: the Hi.Events side reports a status change.
 * Registered in its own scope so that its body parser can keep the raw bytes the signatures cover.
 */
export function registerWebhookRoutes(app: App, ctx: AppContext): void {
  const verify = createWebhookVerifier(ctx.config.hiEvents.webhookSecrets, ctx.clock);
  const schemes = new WeakMap<FastifyRequest, 'standard-webhooks' | 'seed'>();

  const anonymousFailures = new AnonymousFailureAudit(ctx.db, ctx.clock);
  const auditFailure = async (request: FastifyRequest, reason: string, eventId?: number) => {
    ctx.metrics.webhooksReceived.inc({ outcome: reason });
    // A sender who proved nothing is audited once a minute per kind and address (anonymous-failures.ts).
    const record = (entry: AuditEntry) =>
      eventId === undefined ? anonymousFailures.record(entry) : recordAudit(ctx.db, ctx.clock(), entry);
    await record({
      action: ACTION,
      outcome: 'failure',
      actor: eventId === undefined ? 'anonymous' : 'hi-events',
      eventId,
      reason,
      origin: requestOrigin(request),
    });
  };

  /** Checks the signatures over the raw bytes, then parses them: strangers get a 401 before any 400. */
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
      STATUS_WEBHOOK_PATH,
      {
        config: perMinute(ctx.config.rateLimitsPerMinute.webhook),
        bodyLimit: STATUS_WEBHOOK_MAX_BYTES,
        preValidation: verifyThenParse,
        schema: {
          tags: ['webhooks'],
          summary: 'Hi.Events reports that an event’s ticketing status changed (signed; idempotent by id)',
          description: [
            'Signed with Standard Webhooks headers or the seed’s `x-hi-events-signature` (then `occurred_at`',
            'must lie within 5 minutes). 200 `{applied: true}` when applied; 200 `{applied: false, reason}` for',
            'a redelivered id (`duplicate`), an update older than the one in force (`stale`) or the current',
            'status again (`unchanged`). 401 unsigned or badly signed, 400 malformed, 404 unknown event,',
            '409 transition not allowed, 413 over 64 KiB, 429 rate limited.',
          ].join(' '),
          headers: SignatureHeaders,
          body: StatusWebhook,
          response: {
            200: StatusWebhookResponse,
            400: ErrorBody,
            401: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
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
          // The seed's signature has no timestamp of its own, so a captured delivery could be replayed.
          await auditFailure(request, 'stale_timestamp');
          throw new AppError(
            'stale_timestamp',
            `occurred_at is more than ${minutes} minutes from the server's clock; with only ${SEED_SIGNATURE_HEADER}, deliver within ${minutes} minutes or sign with Standard Webhooks`,
          );
        }
        const pageUrl = webhook.data.hi_events_event_url;
        const origins = ctx.config.hiEvents.publicOrigins;
        if (
          pageUrl !== null &&
          origins &&
          !(URL.canParse(pageUrl) && origins.includes(new URL(pageUrl).origin))
        ) {
          // A "View tickets" link must lead to Hi.Events, whoever holds a signing key.
          await auditFailure(request, 'foreign_event_url', eventId);
          throw new AppError(
            'validation_failed',
            `data.hi_events_event_url: must be a page of ${origins.join(' or ')}`,
          );
        }
        if (occurredAt.getTime() - now.getTime() > WEBHOOK_TOLERANCE_MS) {
          throw new AppError(
            'validation_failed',
            `body.occurred_at: lies more than ${minutes} minutes ahead of the server's clock`,
          );
        }

        const result = await applyStatusChange(
          ctx.db,
          {
            source: 'hi-events',
            webhookId: webhook.id,
            eventId,
            status: webhook.data.status,
            occurredAt,
            hiEventsEventId: webhook.data.hi_events_event_id,
            hiEventsEventUrl: webhook.data.hi_events_event_url,
            hiEventsStatus: webhook.data.hi_events_status,
            reason: webhook.data.reason,
            origin: requestOrigin(request),
          },
          now,
        );
        switch (result.outcome) {
          case 'applied':
            ctx.changes.announce(result.change.id);
            ctx.metrics.webhooksReceived.inc({ outcome: 'applied' });
            return { applied: true, status: result.event.ticketing_status };
          case 'skipped':
            ctx.metrics.webhooksReceived.inc({ outcome: result.reason });
            return { applied: false, status: result.event.ticketing_status, reason: result.reason };
          case 'unknown_event':
            await auditFailure(request, 'unknown_event', eventId);
            throw new AppError('event_not_found', `data.tuvens_event_id: no Tuvens event ${eventId}`);
          case 'linked_elsewhere':
            await auditFailure(request, 'linked_elsewhere', eventId);
            throw new AppError(
              'conflict',
              `data.hi_events_event_id: event ${eventId} is linked to Hi.Events event ${result.linkedTo}, not ${webhook.data.hi_events_event_id}`,
            );
          case 'turned_off':
            await auditFailure(request, 'turned_off', eventId);
            throw new AppError(
              'ticketing_not_started',
              `data.tuvens_event_id: the organizer turned ticketing of event ${eventId} off; it is linked again only once they enable it from Tuvens`,
            );
          case 'not_started':
            await auditFailure(request, 'ticketing_not_started', eventId);
            throw new AppError(
              'ticketing_not_started',
              `data.tuvens_event_id: ticketing of event ${eventId} was never enabled from Tuvens; Hi.Events may link it only once its organizer has`,
            );
          case 'transition_not_allowed':
            await auditFailure(request, 'transition_not_allowed', eventId);
            throw new AppError(
              'transition_not_allowed',
              `data.status: ticketing of event ${eventId} cannot go from ${result.from} to ${result.to}`,
            );
        }
      },
    );
  });
}
