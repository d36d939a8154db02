import type { SessionEvent } from '@tuvens/contracts';
import type { Kysely } from 'kysely';
import type { ConnectorDatabase, EventLinkRow } from '../database/schema.ts';
import { sealSecret } from '../database/sealed-secrets.ts';
import { type HiEventsIdentity, isWebhookTypeRefusal } from '../hi-events/adapter.ts';
import { enqueueStatusChange } from '../outbox/outbox.ts';
import { recordObservation } from '../status/observations.ts';
import { createOnce } from './claims.ts';
import type { LinkedIdentity, LinkingDeps } from './identities.ts';

/** Where Hi.Events sends an event's webhooks: the connector, with the Hi.Events event in the path. */
export const hiEventsWebhookPath = (hiEventsEventId: number) => `/webhooks/hi-events/${hiEventsEventId}`;

export async function findEventLink(db: Kysely<ConnectorDatabase>, tuvensEventId: number) {
  return db
    .selectFrom('event_links')
    .selectAll()
    .where('tuvens_event_id', '=', tuvensEventId)
    .executeTakeFirst();
}

/**
 * Links a Tuvens event to its Hi.Events event, creating that the first time only: however many
 * "enable" clicks arrive together, one Hi.Events event is made (see `createOnce`). The new event
 * carries a private `tuvens_event_id` attribute, so that a link whose creation was cut short is
 * found again instead of made twice. Linking queues status `setup` for tuvens-api.
 */
export async function linkEvent(
  deps: LinkingDeps,
  event: SessionEvent,
  linked: LinkedIdentity,
): Promise<{ link: EventLinkRow; created: boolean }> {
  const { db, clock, hiEvents } = deps;
  const { identity, account } = linked;
  return createOnce<{ link: EventLinkRow; created: boolean }>(deps.claims, {
    resource: `event:${event.id}`,
    find: async () => {
      const link = await findEventLink(db, event.id);
      return link ? { link, created: false } : undefined;
    },
    create: async () => {
      const hiEvent =
        (await hiEvents.findEventForTuvensEvent(identity, account.hi_events_organizer_id, event.id)) ??
        (await hiEvents.createEvent(identity, {
          organizerId: account.hi_events_organizer_id,
          title: event.title,
          startsAt: event.starts_at,
          endsAt: event.ends_at,
          tuvensEventId: event.id,
        }));
      const now = clock();
      const eventUrl = hiEvents.eventPageUrl(hiEvent);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('event_links')
          .values({
            tuvens_event_id: event.id,
            tuvens_account_id: account.tuvens_account_id,
            hi_events_event_id: hiEvent.id,
            hi_events_account_id: account.hi_events_account_id,
            hi_events_event_url: eventUrl,
            webhook_id: null,
            webhook_secret: null,
            hi_events_status: null,
            hi_events_lifecycle_status: null,
            observed_at: null,
            hi_events_sent_at: null,
            reported_status: 'setup',
            reconciled_at: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await enqueueStatusChange(
          trx,
          {
            tuvensEventId: event.id,
            status: 'setup',
            hiEventsEventId: hiEvent.id,
            hiEventsEventUrl: eventUrl,
            hiEventsStatus: 'DRAFT',
            reason: 'linked',
            occurredAt: now,
          },
          now,
        );
      });
      // An adopted event may have moved on since it was made; anything past `setup` is queued after it.
      await recordObservation(
        db,
        {
          hiEventsEventId: hiEvent.id,
          state: { status: hiEvent.status, lifecycle_status: hiEvent.lifecycle_status },
          observedAt: now,
          eventUrl,
        },
        new Date(now.getTime() + 1),
      );
      return { link: (await findEventLink(db, event.id))!, created: true };
    },
  });
}

/**
 * Registers the connector for the event's status webhooks, once. Hi.Events shows the webhook's
 * secret only in its answer to the creation, so the secret is kept with the link, sealed.
 */
export async function registerEventWebhook(
  deps: LinkingDeps,
  link: EventLinkRow,
  as: HiEventsIdentity,
): Promise<EventLinkRow> {
  const { db, clock, hiEvents, config } = deps;
  const withWebhook = (row: EventLinkRow | undefined) => (row?.webhook_id ? row : undefined);
  if (withWebhook(link) || hiEvents.webhookTypesRefused) return link;
  try {
    return await createOnce(deps.claims, {
      resource: `webhook:${link.tuvens_event_id}`,
      find: async () => withWebhook(await findEventLink(db, link.tuvens_event_id)),
      create: async () => {
        const url = `${config.publicUrl}${hiEventsWebhookPath(link.hi_events_event_id)}`;
        const { webhookId, secret } = await hiEvents.createWebhook(as, link.hi_events_event_id, url);
        return db
          .updateTable('event_links')
          .set({
            webhook_id: webhookId,
            webhook_secret: sealSecret(config.encryptionKeys, secret),
            updated_at: clock(),
          })
          .where('tuvens_event_id', '=', link.tuvens_event_id)
          .returningAll()
          .executeTakeFirstOrThrow();
      },
    });
  } catch (error) {
    if (!isWebhookTypeRefusal(error)) throw error;
    if (hiEvents.noteWebhookTypesRefused()) {
      deps.log?.warn(
        { hiEventsEventId: link.hi_events_event_id },
        'Hi.Events refused the event.updated and event.archived webhook types: it is older than v1.7.0-beta. Statuses now arrive only by the reconciler, every RECONCILE_INTERVAL_S; webhooks are not asked for again until the connector restarts. Upgrade Hi.Events to v1.7.0-beta or later.',
      );
    }
    return link;
  }
}
