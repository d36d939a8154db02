import { parseArgs } from 'node:util';
import { listAudit, recordAudit } from '../audit/audit-log.ts';
import { loadConfig } from '../config.ts';
import { revokeUserSessions } from '../cross-app/sessions.ts';
import { openApiDatabase } from '../database/database.ts';
import { findUserByEmail } from '../users/users.ts';
import { cleanupPolicy, describeCleanup, runCleanup } from './cleanup.ts';

export const API_OPS_USAGE = `tuvens-api commands:
  api migrate                          bring the database schema up to date
  api audit [--event ID] [--user EMAIL] [--limit N]
                                       recent audit entries, newest first
  api revoke-sessions --user EMAIL     revoke every live cross-app session of a user
  api cleanup                          delete expired sessions, old webhook receipts and audit entries
                                       past AUDIT_LOG_RETENTION_DAYS now`;

/** An option that must be a positive whole number, when given. */
function wholeNumber(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new Error(`${option} must be a whole number`);
  return Number(value);
}

/**
 * Runs one operator command against tuvens-api's database (the same DATABASE_URL / API_DATA_DIR
 * the API uses) and answers the text to print. Throws an Error whose message is meant for the operator.
 */
export async function runApiCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  const [command, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { event: { type: 'string' }, user: { type: 'string' }, limit: { type: 'string' } },
  });
  if (!['migrate', 'audit', 'revoke-sessions', 'cleanup'].includes(command ?? '')) {
    throw new Error(`Unknown command "${command ?? ''}".\n${API_OPS_USAGE}`);
  }
  const config = loadConfig(env);
  const database = await openApiDatabase(config);
  try {
    switch (command) {
      case 'migrate':
        return 'tuvens-api: the schema is up to date';
      case 'cleanup':
        return describeCleanup(await runCleanup(database.db, new Date(), cleanupPolicy(config)));
      case 'audit': {
        const user = values.user ? await findUserByEmail(database.db, values.user) : undefined;
        if (values.user && !user) throw new Error(`No user ${values.user}`);
        const rows = await listAudit(database.db, {
          eventId: wholeNumber('--event', values.event),
          userId: user?.id,
          limit: wholeNumber('--limit', values.limit) ?? 50,
        });
        if (rows.length === 0) return 'No audit entries match.';
        return rows
          .map((row) =>
            [
              row.occurred_at.toISOString(),
              row.action.padEnd(28),
              row.outcome.padEnd(7),
              (row.reason ?? '').padEnd(20),
              row.actor_user_id ? `user ${row.actor_user_id}` : row.actor,
              row.event_id ? `event ${row.event_id}` : '',
              row.ip ?? '',
            ].join('  '),
          )
          .join('\n');
      }
      case 'revoke-sessions': {
        if (!values.user) throw new Error('Name the user: --user EMAIL');
        const user = await findUserByEmail(database.db, values.user);
        if (!user) throw new Error(`No user ${values.user}`);
        const now = new Date();
        const revoked = await revokeUserSessions(database.db, user.id, now);
        await recordAudit(database.db, now, {
          action: 'ops.revoke_sessions',
          outcome: 'success',
          actor: 'system',
          actorUserId: user.id,
          details: { revoked },
        });
        return `Revoked ${revoked} live cross-app session(s) of ${user.email}.`;
      }
    }
    return '';
  } finally {
    await database.close();
  }
}
