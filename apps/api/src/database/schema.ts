import type { ContactData, TicketingStatus, TicketSummary } from '@tuvens/contracts';
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | undefined, never>;

export interface UsersTable {
  id: Generated<number>;
  email: string;
  name: string;
  password_hash: string;
  /** Raised by signing out and by a password change; tokens issued under an older value are refused. */
  token_version: Generated<number>;
  created_at: CreatedAt;
}

export interface AccountsTable {
  id: Generated<number>;
  name: string;
  created_at: CreatedAt;
}

export interface AccountMembersTable {
  account_id: number;
  user_id: number;
  role: 'owner' | 'admin' | 'member';
  created_at: CreatedAt;
}

export interface EventsTable {
  id: Generated<number>;
  account_id: number;
  title: string;
  starts_at: Date;
  ends_at: Date;
  visibility: 'public' | 'private';
  ticketing_enabled: Generated<boolean>;
  ticketing_status: Generated<TicketingStatus>;
  hi_events_event_id: number | null;
  hi_events_event_url: string | null;
  /** Legacy mirror of `ticketing_enabled`. */
  hasTicketing: Generated<boolean>;
  /** Legacy mirror of `hi_events_event_id`. */
  hiEventsEventId: number | null;
  contactData: ColumnType<ContactData, string | undefined, string>;
  /** When the status that is in force now happened, to refuse older updates that arrive late. */
  ticketing_updated_at: Date | null;
  /** The latest ticket summary (docs/contract.md#ticket-summary-webhook) and when it was observed. */
  ticket_summary: Generated<TicketSummary | null>;
  ticket_summary_updated_at: Generated<Date | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** The seed's `crossAppSession`; only the SHA-256 of the token is kept. */
export interface CrossAppSessionTable {
  id: Generated<number>;
  sessionTokenHash: string;
  userId: number;
  accountId: number;
  appId: string;
  event_id: number;
  expiresAt: Date;
  createdAt: Date;
  lastUsed: Date | null;
  consumed_at: Date | null;
  revoked_at: Date | null;
  /** base64url SHA-256 of the PKCE verifier the session is bound to; null for an unbound session. */
  code_challenge: ColumnType<string | null, string | null | undefined, string | null>;
  sysCreated: CreatedAt;
  sysModified: ColumnType<Date, Date | undefined, Date>;
}

export interface AuditLogTable {
  id: Generated<number>;
  occurred_at: Date;
  actor: 'user' | 'connector' | 'hi-events' | 'anonymous' | 'system';
  actor_user_id: number | null;
  action: string;
  outcome: 'success' | 'failure';
  reason: string | null;
  event_id: number | null;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

/**
 * The append-only ticketing change log; its id is the SSE event id for viewers who may see private
 * events, `public_seq` for those who see only public ones (docs/contract.md#sse).
 */
export interface TicketingStatusChangesTable {
  id: Generated<number>;
  event_id: number;
  from_status: TicketingStatus;
  to_status: TicketingStatus;
  /** The event's Hi.Events link after the change. */
  hi_events_event_id: number | null;
  hi_events_event_url: string | null;
  hi_events_status: string | null;
  source: 'hi-events' | 'organizer';
  webhook_id: string | null;
  actor_user_id: number | null;
  reason: string | null;
  /** When the change happened at its source. */
  occurred_at: Date;
  recorded_at: Date;
  /** Set on the rows that announce a new ticket summary rather than a status change. */
  ticket_summary?: TicketSummary | null;
  /**
   * The change's number among the changes of public events; null for a private event's. Set by the
   * database as the row is inserted (migration 0006), never by the code that appends.
   */
  public_seq: ColumnType<number | null, never, never>;
}

/** One row per accepted status webhook id, so that a redelivery is never applied twice. */
export interface WebhookReceiptsTable {
  id: string;
  received_at: Date;
  event_id: number;
  outcome: 'applied' | 'stale' | 'unchanged';
}

/** Hits of one limit on one key in its current window, shared by every instance (auth/login-limits.ts). */
export interface RateLimitCountersTable {
  kind: 'login_address' | 'login_account' | 'password_address';
  key: string;
  window_start: Date;
  hits: number;
}

export interface ApiDatabase {
  users: UsersTable;
  accounts: AccountsTable;
  account_members: AccountMembersTable;
  events: EventsTable;
  crossAppSession: CrossAppSessionTable;
  audit_log: AuditLogTable;
  ticketing_status_changes: TicketingStatusChangesTable;
  webhook_receipts: WebhookReceiptsTable;
  rate_limit_counters: RateLimitCountersTable;
}

export type EventRow = Selectable<EventsTable>;
export type NewEvent = Insertable<EventsTable>;
export type SessionRow = Selectable<CrossAppSessionTable>;
export type UserRow = Selectable<UsersTable>;
export type TicketingChangeRow = Omit<
  Selectable<TicketingStatusChangesTable>,
  'ticket_summary' | 'public_seq'
> &
  Pick<TicketingStatusChangesTable, 'ticket_summary'> & { public_seq?: number | null };
