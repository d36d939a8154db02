import {
  TICKET_SUMMARY_WEBHOOK_PATH,
  TicketSummaryWebhook,
  TicketSummaryWebhookResponse,
} from '@tuvens/contracts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, requestOrigin } from '../http/context.ts';
import { registerSignedWebhook, requireNotAheadOfClock } from '../webhooks/signed-webhook.ts';
import { applyTicketSummary } from './apply-ticket-summary.ts';

/**
 * `POST /api/webhooks/hi-events/ticket-summary-changed`: the connector reports an event's ticket summary
 * (docs/contract.md#ticket-summary-webhook). Signatures, tolerance, order of checks and idempotency are
 * those of the status webhook.
 */
export function registerTicketSummaryWebhook(app: App, ctx: AppContext): void {
  registerSignedWebhook(app, ctx, {
    path: TICKET_SUMMARY_WEBHOOK_PATH,
    action: 'hi_events.webhook.ticket_summary',
    summary: 'The connector reports an event’s ticket summary (signed; idempotent by id; latest wins)',
    description: [
      'Signed as the status webhook is. 200 `{applied: true}` when stored; 200 `{applied: false, reason}`',
      'for a redelivered id (`duplicate`), a summary observed before the one in force or of a Hi.Events',
      'event the Tuvens event is not linked to (`stale`), or the same summary again (`unchanged`).',
      '401 unsigned or badly signed, 400 malformed, 404 unknown event, 413 over 64 KiB, 429 rate limited.',
    ].join(' '),
    body: TicketSummaryWebhook,
    answer: TicketSummaryWebhookResponse,
    refusals: [404],
    async handle(webhook, { request, now, occurredAt, auditFailure }) {
      const eventId = webhook.data.tuvens_event_id;
      requireNotAheadOfClock(occurredAt, now);

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
          await auditFailure('unknown_event', eventId);
          throw new AppError('event_not_found', `data.tuvens_event_id: no Tuvens event ${eventId}`);
      }
    },
  });
}
