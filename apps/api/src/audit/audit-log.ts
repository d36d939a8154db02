import type { Insertable, Kysely } from 'kysely';
import type { ApiDatabase, AuditLogTable } from '../database/schema.ts';

/** Where a request came from, as the audit log records it. */
export interface RequestOrigin {
  ip: string;
  userAgent: string | undefined;
}

export interface AuditEntry {
  action: string;
  outcome: 'success' | 'failure';
  actor: AuditLogTable['actor'];
  actorUserId?: number | null | undefined;
  reason?: string | undefined;
  eventId?: number | null | undefined;
  origin?: RequestOrigin | undefined;
  /** Extra facts; never a token, a secret or a password. */
  details?: Record<string, unknown> | undefined;
}

/** The audit row of an entry, for callers that insert it as part of a larger statement. */
export function auditRow(at: Date, entry: AuditEntry): Insertable<AuditLogTable> {
  return {
    occurred_at: at,
    action: entry.action,
    outcome: entry.outcome,
    actor: entry.actor,
    actor_user_id: entry.actorUserId ?? null,
    reason: entry.reason ?? null,
    event_id: entry.eventId ?? null,
    ip: entry.origin?.ip ?? null,
    user_agent: entry.origin?.userAgent?.slice(0, 512) ?? null,
    details: JSON.stringify(entry.details ?? {}),
  };
}

/** Appends one row to the audit log; pass a transaction to record it with the change it describes. */
export async function recordAudit(db: Kysely<ApiDatabase>, at: Date, entry: AuditEntry): Promise<void> {
  await db.insertInto('audit_log').values(auditRow(at, entry)).execute();
}

/** Recent audit entries, newest first, optionally of one event or one user. */
export async function listAudit(
  db: Kysely<ApiDatabase>,
  filter: { eventId?: number | undefined; userId?: number | undefined; limit?: number | undefined },
) {
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 50);
  if (filter.eventId !== undefined) query = query.where('event_id', '=', filter.eventId);
  if (filter.userId !== undefined) query = query.where('actor_user_id', '=', filter.userId);
  return query.execute();
}

/** Deletes the entries recorded before a moment (`AUDIT_LOG_RETENTION_DAYS` ago); answers how many. */
export async function pruneAuditLog(db: Kysely<ApiDatabase>, before: Date): Promise<number> {
  const result = await db.deleteFrom('audit_log').where('occurred_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
