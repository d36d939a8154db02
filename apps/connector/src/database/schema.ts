import type { HiEventsEventStatus, HiEventsLifecycleStatus, TicketingStatus } from '@tuvens/contracts';
import type { ColumnType, Generated, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date, never>;
type UpdatedAt = ColumnType<Date, Date, Date>;

/** A Tuvens user and the Hi.Events user they act as. */
export interface ExternalUserMappingsTable {
  tuvens_user_id: number;
  hi_events_user_id: number;
  email: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A Tuvens account and the Hi.Events account and organizer its events go under. */
export interface ExternalAccountMappingsTable {
  tuvens_account_id: number;
  hi_events_account_id: number;
  /** The Hi.Events user who created the account; the connector acts on the account as them. */
  hi_events_owner_user_id: number;
  hi_events_organizer_id: number | null;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** That a mapped user has been added to a mapped account in Hi.Events. */
export interface AccountMembershipsTable {
  tuvens_account_id: number;
  tuvens_user_id: number;
  created_at: CreatedAt;
}

/** A Tuvens event linked to its Hi.Events event, with what the connector last saw of it and reported. */
export interface EventLinksTable {
  tuvens_event_id: number;
  tuvens_account_id: number;
  hi_events_event_id: number;
  hi_events_account_id: number;
  hi_events_event_url: string;
  webhook_id: number | null;
  /** The per-event webhook secret Hi.Events answers once, at creation. */
  webhook_secret: string | null;
  hi_events_status: HiEventsEventStatus | null;
  hi_events_lifecycle_status: HiEventsLifecycleStatus | null;
  hi_events_deleted: ColumnType<boolean, boolean | undefined, boolean>;
  /** When the Hi.Events state above was true; an older observation that arrives later is ignored. */
  observed_at: Date | null;
  /** `event_sent_at` of the newest Hi.Events webhook applied; webhooks that arrive out of order are ignored. */
  hi_events_sent_at: Date | null;
  /** The last status queued for tuvens-api; the next one is planned from it. */
  reported_status: TicketingStatus;
  reconciled_at: Date | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Short leases that let exactly one request create a Hi.Events resource while others wait for it. */
export interface ProvisioningClaimsTable {
  resource: string;
  claim_token: string;
  expires_at: Date;
}

/** Hi.Events webhooks already taken in, by the SHA-256 of their exact body. */
export interface HiEventsWebhookReceiptsTable {
  body_sha256: string;
  hi_events_event_id: number;
  event_type: string;
  received_at: Date;
}

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/** Status webhooks for tuvens-api, kept until delivered (or refused for good). */
export interface StatusOutboxTable {
  id: Generated<number>;
  /** The StatusWebhook `id`: the same on every retry, so tuvens-api applies it once. */
  message_id: string;
  tuvens_event_id: number;
  ticketing_status: TicketingStatus;
  /** The exact JSON body; every attempt sends and signs these bytes. */
  body: string;
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date;
  /** While a worker is sending it; after this a crashed worker's claim lapses. */
  claimed_until: Date | null;
  last_error: string | null;
  last_status_code: number | null;
  created_at: CreatedAt;
  delivered_at: Date | null;
  dead_at: Date | null;
}

/** The connector's own sign-in sessions; only the SHA-256 of the cookie's token is kept. */
export interface ConnectorSessionsTable {
  id: Generated<number>;
  token_hash: string;
  tuvens_user_id: number;
  tuvens_account_id: number;
  tuvens_event_id: number;
  hi_events_user_id: number;
  hi_events_account_id: number;
  created_at: CreatedAt;
  expires_at: Date;
  revoked_at: Date | null;
  /** The Tuvens cross-app session token, sealed: what the connector asks tuvens-api about again. */
  tuvens_session_token: string | null;
  /** When tuvens-api last confirmed that the person may manage the account. */
  checked_at: Date | null;
}

/** Hi.Events tokens the connector issued, kept (sealed) until they expire, to sign them out. */
export interface HiEventsTokensTable {
  id: Generated<number>;
  connector_session_id: number;
  jti: string;
  sealed_token: string;
  expires_at: Date;
  revoked_at: Date | null;
  created_at: CreatedAt;
}

export interface ConnectorDatabase {
  external_user_mappings: ExternalUserMappingsTable;
  external_account_mappings: ExternalAccountMappingsTable;
  account_memberships: AccountMembershipsTable;
  event_links: EventLinksTable;
  provisioning_claims: ProvisioningClaimsTable;
  hi_events_webhook_receipts: HiEventsWebhookReceiptsTable;
  status_outbox: StatusOutboxTable;
  connector_sessions: ConnectorSessionsTable;
  hi_events_tokens: HiEventsTokensTable;
}

export type EventLinkRow = Selectable<EventLinksTable>;
export type AccountMappingRow = Selectable<ExternalAccountMappingsTable>;
export type UserMappingRow = Selectable<ExternalUserMappingsTable>;
export type OutboxRow = Selectable<StatusOutboxTable>;
export type ConnectorSessionRow = Selectable<ConnectorSessionsTable>;
