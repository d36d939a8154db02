import type { HiEventsEventState } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import type { ConnectorDatabase, EventLinkRow } from '../database/schema.ts';
import { enqueueStatusChange } from '../outbox/outbox.ts';
import { planStatusReport, type StatusStep } from './status-planner.ts';

export interface Observation {
  hiEventsEventId: number;
  /** What Hi.Events says of the event. */
  state: HiEventsEventState;
  /** When it was true, on the connector's clock: a webhook's arrival, or when a re-read was asked for. */
  observedAt: Date;
  /** A webhook's own `event_sent_at`, to put Hi.Events' webhooks in order among themselves. */
  sentAt?: Date;
  /** The public event page; it follows the event's title. */
  eventUrl?: string;
}

export type ObservationResult =
  | { applied: true; link: EventLinkRow; queued: StatusStep[] }
  | { applied: false; reason: 'unknown_event' | 'stale' };

/**
 * Records what was seen of a linked event in Hi.Events and queues the statuses it implies for
 * tuvens-api, in one transaction (the caller's, if it is in one) with the event's link row locked: concurrent webhooks and re-reads
 * of one event are applied one after the other, and an observation older than the one already
 * applied changes nothing.
 */
export async function recordObservation(
  db: Kysely<ConnectorDatabase>,
  observation: Observation,
  now: Date,
): Promise<ObservationResult> {
  const inTransaction = <T>(work: (trx: Kysely<ConnectorDatabase>) => Promise<T>) =>
    db.isTransaction ? work(db) : db.transaction().execute(work);
  return inTransaction(async (trx) => {
    const link = await trx
      .selectFrom('event_links')
      .selectAll()
      .where('hi_events_event_id', '=', observation.hiEventsEventId)
      .forUpdate()
      .executeTakeFirst();
    if (!link) return { applied: false, reason: 'unknown_event' };
    if (isStale(link, observation)) return { applied: false, reason: 'stale' };

    const steps = planStatusReport(link.reported_status, observation.state);
    const { state } = observation;
    const eventUrl = observation.eventUrl ?? link.hi_events_event_url;
    const updated = await trx
      .updateTable('event_links')
      .set({
        hi_events_status: state.deleted ? link.hi_events_status : state.status,
        hi_events_lifecycle_status: state.deleted ? link.hi_events_lifecycle_status : state.lifecycle_status,
        hi_events_deleted: state.deleted === true,
        hi_events_event_url: eventUrl,
        observed_at: observation.observedAt,
        hi_events_sent_at: observation.sentAt ?? link.hi_events_sent_at,
        reported_status: steps.at(-1)?.status ?? link.reported_status,
        updated_at: now,
      })
      .where('tuvens_event_id', '=', link.tuvens_event_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    for (const [index, step] of steps.entries()) {
      const unlinked = step.status === 'none';
      await enqueueStatusChange(
        trx,
        {
          tuvensEventId: link.tuvens_event_id,
          status: step.status,
          hiEventsEventId: unlinked ? null : link.hi_events_event_id,
          hiEventsEventUrl: unlinked ? null : eventUrl,
          hiEventsStatus: state.deleted ? null : state.status,
          reason: step.reason,
          // Two steps seen at once still get distinct times, so that tuvens-api keeps their order.
          occurredAt: new Date(now.getTime() + index),
        },
        now,
      );
    }
    return { applied: true, link: updated, queued: steps };
  });
}

function isStale(link: EventLinkRow, observation: Observation): boolean {
  if (link.observed_at && observation.observedAt < link.observed_at) return true;
  return Boolean(observation.sentAt && link.hi_events_sent_at && observation.sentAt < link.hi_events_sent_at);
}
