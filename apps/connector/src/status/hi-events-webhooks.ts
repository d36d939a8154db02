import { createHash, randomBytes } from 'node:crypto';
import {
  ErrorBody,
  HiEventsEvent,
  HiEventsEventWebhookType,
  HiEventsTicketWebhookType,
  HiEventsWebhookEnvelope,
} from '@tuvens/contracts';
import { HI_EVENTS_SIGNATURE_HEADER, verifyHiEventsSignature } from '@tuvens/contracts/signatures';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { ConnectorDatabase } from '../database/schema.ts';
import { openSecret } from '../database/sealed-secrets.ts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, perMinute } from '../http/context.ts';
import { recordObservation } from './observations.ts';

/** Webhook receipts are kept a week, well past any redelivery, then pruned. */
export const WEBHOOK_RECEIPT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Deletes the receipts past their retention; answers how many. A webhook sent before then is
 * refused as stale rather than checked against them, so none can come back in through the gap.
 */
export async function pruneWebhookReceipts(db: Kysely<ConnectorDatabase>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('hi_events_webhook_receipts')
    .where('received_at', '<', new Date(now.getTime() - WEBHOOK_RECEIPT_RETENTION_MS))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

const Params = z.object({ hi_events_event_id: z.coerce.number().int().positive().max(2_147_483_647) });

const Received = z.object({
  received: z.literal(true),
  outcome: z.enum(['applied', 'duplicate', 'stale', 'ignored']),
  queued: z.array(z.string()),
});

/**
 * Receives Hi.Events' own webhooks for linked events at `/webhooks/hi-events/{hi_events_event_id}`.
 * The signature is checked exactly as Hi.Events makes it, over the raw bytes before anything is
 * parsed, with that event's secret; a body already taken in (Hi.Events gives webhooks no id) is
 * recognised by its SHA-256; and the event's new state is mapped and queued for tuvens-api.
 *
 * Hi.Events signs no timestamp, so identical bytes are taken once: that stops a replay, and also drops
 * the rare true repeat (the same state twice within the one second `event_sent_at` resolves), which
 * the reconciler's next re-read corrects.
 */
/** A key no webhook is signed with, checked against for unlinked ids so that they take as long. */
const UNLINKED_SECRET = randomBytes(32).toString('base64url');

export function registerHiEventsWebhookRoutes(app: App, ctx: AppContext, onStatusQueued: () => void): void {
  const { db, clock, metrics, hiEvents } = ctx;

  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    // Raw bytes: Hi.Events signs PHP's json_encode output, which no re-serialization reproduces.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );

    scope.post(
      '/webhooks/hi-events/:hi_events_event_id',
      {
        config: perMinute(ctx.config.rateLimitsPerMinute.webhook),
        schema: {
          params: Params,
          response: {
            200: Received,
            400: ErrorBody,
            401: ErrorBody,
            404: ErrorBody,
            413: ErrorBody,
            415: ErrorBody,
          },
        },
      },
      async (request) => {
        const hiEventsEventId = request.params.hi_events_event_id;
        const raw = request.body;
        if (!Buffer.isBuffer(raw)) {
          throw new AppError('unsupported_media_type', 'Send the webhook as application/json');
        }

        const link = await db
          .selectFrom('event_links')
          .select(['tuvens_event_id', 'webhook_secret'])
          .where('hi_events_event_id', '=', hiEventsEventId)
          .executeTakeFirst();
        const header = request.headers[HI_EVENTS_SIGNATURE_HEADER];
        const signature = typeof header === 'string' ? header : undefined;
        if (!link?.webhook_secret) {
          // Answered as a bad signature, after as much work: the answer must not tell a stranger
          // which Hi.Events ids are linked.
          verifyHiEventsSignature(raw, signature, UNLINKED_SECRET);
          metrics.hiEventsWebhooks.inc({ outcome: 'unknown_event' });
          request.log.warn({ hiEventsEventId }, 'Hi.Events webhook for an event with no webhook refused');
          throw new AppError('invalid_signature', 'The Signature header does not match the body');
        }
        const secret = openSecret(ctx.config.encryptionKeys, link.webhook_secret);
        if (secret === undefined) {
          // Not the sender's fault: the key that sealed it is no longer configured.
          metrics.hiEventsWebhooks.inc({ outcome: 'unreadable_secret' });
          request.log.error(
            { hiEventsEventId },
            'the stored webhook secret cannot be opened with any CONNECTOR_ENCRYPTION_KEY; keep the old key listed while rotating',
          );
          throw new AppError('unavailable', 'This webhook cannot be checked right now');
        }
        if (!verifyHiEventsSignature(raw, signature, secret)) {
          metrics.hiEventsWebhooks.inc({ outcome: 'invalid_signature' });
          request.log.warn({ hiEventsEventId }, 'Hi.Events webhook with a bad or missing signature refused');
          throw new AppError('invalid_signature', 'The Signature header does not match the body');
        }

        const envelope = HiEventsWebhookEnvelope.safeParse(parseJson(raw));
        if (!envelope.success) throw invalidField('body', envelope.error);
        if (HiEventsTicketWebhookType.safeParse(envelope.data.event_type).success) {
          // A product or an order changed: only the ticket summary can follow, re-derived from the source.
          await ctx.ticketSummaries.request(hiEventsEventId);
          metrics.hiEventsWebhooks.inc({ outcome: 'applied' });
          return { received: true as const, outcome: 'applied' as const, queued: [] };
        }
        const type = HiEventsEventWebhookType.safeParse(envelope.data.event_type);
        if (!type.success) {
          metrics.hiEventsWebhooks.inc({ outcome: 'ignored' });
          return { received: true as const, outcome: 'ignored' as const, queued: [] };
        }
        const event = HiEventsEvent.safeParse(envelope.data.payload);
        if (!event.success) throw invalidField('payload', event.error);
        if (event.data.id !== hiEventsEventId) {
          throw new AppError(
            'validation_failed',
            'payload.id: is not the event this webhook was registered for',
          );
        }
        const sentAt = new Date(envelope.data.event_sent_at);
        if (Number.isNaN(sentAt.getTime())) {
          throw new AppError('validation_failed', 'event_sent_at: is not a date-time');
        }

        const now = clock();
        // Older than any receipt still kept: it could be a replay that the receipts no longer remember.
        if (now.getTime() - sentAt.getTime() > WEBHOOK_RECEIPT_RETENTION_MS) {
          metrics.hiEventsWebhooks.inc({ outcome: 'stale' });
          return { received: true as const, outcome: 'stale' as const, queued: [] };
        }
        const outcome = await db.transaction().execute(async (trx) => {
          const receipt = await trx
            .insertInto('hi_events_webhook_receipts')
            .values({
              body_sha256: createHash('sha256').update(raw).digest('hex'),
              hi_events_event_id: hiEventsEventId,
              event_type: type.data,
              received_at: now,
            })
            .onConflict((oc) => oc.column('body_sha256').doNothing())
            .returning('body_sha256')
            .executeTakeFirst();
          if (!receipt) return { outcome: 'duplicate' as const, queued: [] };
          const result = await recordObservation(
            trx,
            {
              hiEventsEventId,
              state: { status: event.data.status, lifecycle_status: event.data.lifecycle_status },
              observedAt: now,
              sentAt,
              eventUrl: hiEvents.eventPageUrl(event.data),
            },
            now,
          );
          return result.applied
            ? { outcome: 'applied' as const, queued: result.queued.map((step) => step.status) }
            : { outcome: 'stale' as const, queued: [] };
        });
        metrics.hiEventsWebhooks.inc({ outcome: outcome.outcome });
        request.log.info(
          { hiEventsEventId, tuvensEventId: link.tuvens_event_id, type: type.data, ...outcome },
          'Hi.Events webhook received',
        );
        if (outcome.queued.length > 0) onStatusQueued();
        // Publishing (or any change of the event) may change what buyers see.
        if (outcome.outcome === 'applied') await ctx.ticketSummaries.request(hiEventsEventId);
        return { received: true as const, ...outcome };
      },
    );
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('invalid_json', 'The request body is not valid JSON');
  }
}

function invalidField(prefix: string, error: z.ZodError): AppError {
  const issue = error.issues[0];
  const where = [prefix, ...(issue?.path ?? []).map(String)].join('.');
  return new AppError('validation_failed', `${where}: ${issue?.message ?? 'invalid'}`);
}
