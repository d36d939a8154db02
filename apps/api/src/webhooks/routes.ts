import { STATUS_WEBHOOK_PATH, StatusWebhook, StatusWebhookResponse } from '@tuvens/contracts';
import { AppError } from '../errors.ts';
import { type App, type AppContext, requestOrigin } from '../http/context.ts';
import { applyStatusChange } from '../ticketing/apply-status-change.ts';
import { registerSignedWebhook, requireNotAheadOfClock } from './signed-webhook.ts';

/** `POST /api/webhooks/hi-events/event-status-changed`: the Hi.Events side reports a status change. */
export function registerWebhookRoutes(app: App, ctx: AppContext): void {
  registerSignedWebhook(app, ctx, {
    path: STATUS_WEBHOOK_PATH,
    action: 'hi_events.webhook.status_changed',
    summary: 'Hi.Events reports that an event’s ticketing status changed (signed; idempotent by id)',
    description: [
      'Signed with Standard Webhooks headers or the seed’s `x-hi-events-signature` (then `occurred_at`',
      'must lie within 5 minutes). 200 `{applied: true}` when applied; 200 `{applied: false, reason}` for',
      'a redelivered id (`duplicate`), an update older than the one in force (`stale`) or the current',
      'status again (`unchanged`). 401 unsigned or badly signed, 400 malformed, 404 unknown event,',
      '409 transition not allowed, 413 over 64 KiB, 429 rate limited.',
    ].join(' '),
    body: StatusWebhook,
    answer: StatusWebhookResponse,
    refusals: [404, 409],
    onRefusal: (reason) => ctx.metrics.webhooksReceived.inc({ outcome: reason }),
    async handle(webhook, { request, now, occurredAt, auditFailure }) {
      const eventId = webhook.data.tuvens_event_id;
      const pageUrl = webhook.data.hi_events_event_url;
      const origins = ctx.config.hiEvents.publicOrigins;
      if (
        pageUrl !== null &&
        origins &&
        !(URL.canParse(pageUrl) && origins.includes(new URL(pageUrl).origin))
      ) {
        // A "View tickets" link must lead to Hi.Events, whoever holds a signing key.
        await auditFailure('foreign_event_url', eventId);
        throw new AppError(
          'validation_failed',
          `data.hi_events_event_url: must be a page of ${origins.join(' or ')}`,
        );
      }
      requireNotAheadOfClock(occurredAt, now);

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
          await auditFailure('unknown_event', eventId);
          throw new AppError('event_not_found', `data.tuvens_event_id: no Tuvens event ${eventId}`);
        case 'linked_elsewhere':
          await auditFailure('linked_elsewhere', eventId);
          throw new AppError(
            'conflict',
            `data.hi_events_event_id: event ${eventId} is linked to Hi.Events event ${result.linkedTo}, not ${webhook.data.hi_events_event_id}`,
          );
        case 'turned_off':
          await auditFailure('turned_off', eventId);
          throw new AppError(
            'ticketing_not_started',
            `data.tuvens_event_id: the organizer turned ticketing of event ${eventId} off; it is linked again only once they enable it from Tuvens`,
          );
        case 'not_started':
          await auditFailure('ticketing_not_started', eventId);
          throw new AppError(
            'ticketing_not_started',
            `data.tuvens_event_id: ticketing of event ${eventId} was never enabled from Tuvens; Hi.Events may link it only once its organizer has`,
          );
        case 'transition_not_allowed':
          await auditFailure('transition_not_allowed', eventId);
          throw new AppError(
            'transition_not_allowed',
            `data.status: ticketing of event ${eventId} cannot go from ${result.from} to ${result.to}`,
          );
      }
    },
  });
}
