/**
 * The statements tuvens-api sends for one handshake and one applied webhook, as text: what Kysely
 * compiles `findSignedInUser` (apps/api/src/auth/authenticate.ts), `createManagedSession`, `validateSession` (apps/api/src/cross-app/sessions.ts),
 * `applyStatusChange` (apps/api/src/ticketing/apply-status-change.ts, a first link's check included) and `ChangeAnnouncer`
 * (apps/api/src/ticketing/change-log.ts) to. bench/same-work-server.ts sends them with its own
 * parameters; bench/ceilings.ts compiles the API's functions again on every run and reports any
 * difference, so these copies cannot drift unnoticed.
 */

/** Every signed-in request: the user the JWT names, whose `token_version` the JWT must carry. */
export const SIGNED_IN_USER_SQL =
  'select "id", "email", "name", "token_version" from "users" where "id" = $1';

/** generate-session: the session and its audit row, if the user may manage the event. */
export const CREATE_MANAGED_SESSION_SQL =
  'with "session" as (insert into "crossAppSession" ("sessionTokenHash", "userId", "accountId", "appId", "event_id", "expiresAt", "createdAt", "lastUsed", "consumed_at", "revoked_at", "code_challenge") select $1 as "sessionTokenHash", $2 as "userId", "events"."account_id" as "accountId", $3 as "appId", $4 as "event_id", $5 as "expiresAt", $6 as "createdAt", $7 as "lastUsed", $8 as "consumed_at", $9 as "revoked_at", $10 as "code_challenge" from "events" inner join "account_members" on "account_members"."account_id" = "events"."account_id" and "account_members"."user_id" = $11 inner join "users" on "users"."id" = "account_members"."user_id" where "events"."id" = $12 and "account_members"."role" in ($13, $14) returning "id") insert into "audit_log" ("occurred_at", "action", "outcome", "actor", "actor_user_id", "reason", "event_id", "ip", "user_agent", "details") select $15 as "occurred_at", $16 as "action", $17 as "outcome", $18 as "actor", $19 as "actor_user_id", $20 as "reason", $21 as "event_id", $22 as "ip", $23 as "user_agent", $24 as "details" from "session" returning "id"';

/** validate-session of a session made without a code challenge: consume it, read its subject, record the audit row. */
export const VALIDATE_SESSION_SQL =
  'with "session" as (update "crossAppSession" set "consumed_at" = $1, "lastUsed" = $2, "expiresAt" = least($3::timestamptz, "createdAt" + $4 * interval \'1 second\'), "sysModified" = $5 where "sessionTokenHash" = $6 and "consumed_at" is null and "revoked_at" is null and "expiresAt" > $7 and "code_challenge" is null returning "userId", "accountId", "event_id", "expiresAt"), "subject" as (select "session"."userId", "session"."event_id", "session"."expiresAt", "users"."email", "users"."name", "accounts"."id" as "account_id", "accounts"."name" as "account_name", "account_members"."role", "events"."title", "events"."starts_at", "events"."ends_at", "events"."ticketing_status", "events"."hi_events_event_id", ("users"."id" is not null and "events"."id" is not null and "accounts"."id" is not null and "account_members"."role" in ($8, $9)) as "allowed" from "session" left join "users" on "users"."id" = "session"."userId" left join "account_members" on "account_members"."user_id" = "session"."userId" and "account_members"."account_id" = "session"."accountId" left join "accounts" on "accounts"."id" = "account_members"."account_id" left join "events" on "events"."id" = "session"."event_id"), "audit" as (insert into "audit_log" ("occurred_at", "action", "outcome", "actor", "actor_user_id", "reason", "event_id", "ip", "user_agent", "details") select $10 as "occurred_at", $11 as "action", case when "subject"."allowed" then $12 else $13 end as "outcome", $14 as "actor", "subject"."userId" as "actor_user_id", case when "subject"."allowed" then null else $15 end as "reason", "subject"."event_id" as "event_id", $16 as "ip", $17 as "user_agent", $18 as "details" from "subject") select * from "subject"';

/** A status webhook's read: the event, whether its id was received, and the row version. */
export const READ_EVENT_FOR_CHANGE_SQL =
  'select *, exists (select 1 from webhook_receipts where webhook_receipts.id = $1) as "received", xmin::text as "version" from "events" where "id" = $2';

/** A first link (from `none`): the event's last change, to tell whether an organizer turned ticketing off. */
export const LAST_CHANGE_FOR_LINK_SQL =
  'select "source", "to_status", "recorded_at" from "ticketing_status_changes" where "event_id" = $1 order by "id" desc limit $2';

/** A first link: whether a cross-app session was ever issued for the event (it was not turned off). */
export const SESSION_ISSUED_FOR_LINK_SQL =
  'select "id" from "crossAppSession" where "event_id" = $1 limit $2';

/** An applied status webhook's write: the event if unchanged since the read, receipt, audit row, change log. */
export const APPLY_CHANGE_SQL =
  'with "updated" as (update "events" set "ticketing_status" = $1, "ticketing_enabled" = $2, "hasTicketing" = $3, "hi_events_event_id" = $4, "hiEventsEventId" = $5, "hi_events_event_url" = $6, "contactData" = $7, "ticketing_updated_at" = $8, "updated_at" = $9 where "id" = $10 and xmin = $11::xid returning "id"), "receipt" as (insert into "webhook_receipts" ("id", "received_at", "event_id", "outcome") select $12 as "id", $13 as "received_at", $14 as "event_id", $15 as "outcome" from "updated"), "audit" as (insert into "audit_log" ("occurred_at", "action", "outcome", "actor", "actor_user_id", "reason", "event_id", "ip", "user_agent", "details") select $16 as "occurred_at", $17 as "action", $18 as "outcome", $19 as "actor", $20 as "actor_user_id", $21 as "reason", $22 as "event_id", $23 as "ip", $24 as "user_agent", $25 as "details" from "updated") insert into "ticketing_status_changes" ("event_id", "from_status", "to_status", "hi_events_event_id", "hi_events_event_url", "hi_events_status", "source", "webhook_id", "actor_user_id", "reason", "occurred_at", "recorded_at") select $26 as "event_id", $27 as "from_status", $28 as "to_status", $29 as "hi_events_event_id", $30 as "hi_events_event_url", $31 as "hi_events_status", $32 as "source", $33 as "webhook_id", $34 as "actor_user_id", $35 as "reason", $36 as "occurred_at", $37 as "recorded_at" from "updated" returning "id"';

/** The announcement of an applied change, after its commit. */
export const ANNOUNCE_CHANGE_SQL = 'select pg_notify($1, $2)';

/** Every statement by name, for the drift check. */
export const SAME_WORK_STATEMENTS = {
  signedInUser: SIGNED_IN_USER_SQL,
  createManagedSession: CREATE_MANAGED_SESSION_SQL,
  validateSession: VALIDATE_SESSION_SQL,
  readEventForChange: READ_EVENT_FOR_CHANGE_SQL,
  lastChangeForLink: LAST_CHANGE_FOR_LINK_SQL,
  sessionIssuedForLink: SESSION_ISSUED_FOR_LINK_SQL,
  applyChange: APPLY_CHANGE_SQL,
  announceChange: ANNOUNCE_CHANGE_SQL,
} as const;
