import type {
  HiEventsAccount,
  HiEventsEvent,
  HiEventsOrganizer,
  HiEventsUser,
  HiEventsWebhook,
} from '@tuvens/contracts';
import { publicProductCategories } from '../state/products.ts';
import type {
  Account,
  AccountUser,
  HiEvent,
  HiEventsStore,
  Organizer,
  User,
  Webhook,
} from '../state/store.ts';

/** Laravel serializes dates as ISO 8601 in UTC with microseconds, e.g. `2026-06-01T18:00:00.000000Z`. */
export function laravelDate(date: Date | null): string | null {
  return date ? date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') : null;
}

/** `EventResource`: attributes appear only when the event has some. */
export function eventResource(store: HiEventsStore, event: HiEvent): HiEventsEvent {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    start_date: laravelDate(event.start_date),
    end_date: laravelDate(event.end_date),
    status: event.status,
    lifecycle_status: store.lifecycleOf(event),
    currency: event.currency,
    timezone: event.timezone,
    slug: store.slugOf(event),
    ...(event.attributes.length > 0 ? { attributes: event.attributes } : {}),
  };
}

/** `EventResourcePublic`: what the public pages and widget read, with the ticket types on sale. */
export function publicEventResource(store: HiEventsStore, event: HiEvent) {
  const { attributes: _private, ...resource } = eventResource(store, event);
  return {
    ...resource,
    attributes: event.attributes.filter((attribute) => attribute.is_public),
    product_categories: publicProductCategories(store, event),
  };
}

export function webhookResource(webhook: Webhook): HiEventsWebhook {
  return {
    id: webhook.id,
    url: webhook.url,
    event_types: webhook.event_types,
    status: webhook.status,
    last_triggered_at: laravelDate(webhook.last_triggered_at),
    last_response_code: webhook.last_response_code,
    last_response_body: webhook.last_response_body,
  };
}

export function organizerResource(organizer: Organizer): HiEventsOrganizer {
  return {
    id: organizer.id,
    account_id: organizer.account_id,
    name: organizer.name,
    email: organizer.email,
    currency: organizer.currency,
    timezone: organizer.timezone,
  };
}

export function userResource(user: User, membership: AccountUser | undefined): HiEventsUser {
  return {
    id: user.id,
    ...(membership
      ? { account_id: membership.account_id, role: membership.role, status: membership.status }
      : {}),
    first_name: user.first_name,
    last_name: user.last_name,
    email: user.email,
    is_email_verified: user.email_verified_at !== null,
  };
}

export function accountResource(account: Account): HiEventsAccount {
  return {
    id: account.id,
    name: account.name,
    currency_code: account.currency_code,
    timezone: account.timezone,
  };
}
