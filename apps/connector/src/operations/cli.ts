import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { openConnectorDatabase } from '../database/database.ts';
import { countMessages, listMessages, reviveDeadLetter } from '../outbox/outbox.ts';
import { describeCleanup, runCleanup } from './cleanup.ts';

export const CONNECTOR_OPS_USAGE = `connector commands:
  connector migrate                    bring the database schema up to date
  connector dead-letters [--limit N]   status deliveries that failed for good, newest first
  connector replay ID… | --all         put dead letters back in the queue (a running connector delivers them)
  connector cleanup                    delete expired sessions, lapsed claims, old webhook receipts and
                                       delivered messages past OUTBOX_RETENTION_DAYS now`;

const COMMANDS = ['migrate', 'dead-letters', 'replay', 'cleanup'];

/**
 * Runs one operator command against the connector's database (the same DATABASE_URL /
 * CONNECTOR_DATA_DIR the connector uses) and answers the text to print.
 */
export async function runConnectorCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  const [command, ...rest] = args;
  if (!COMMANDS.includes(command ?? '')) {
    throw new Error(`Unknown command "${command ?? ''}".\n${CONNECTOR_OPS_USAGE}`);
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { limit: { type: 'string' }, all: { type: 'boolean' } },
  });
  const config = loadConfig(env);
  const database = await openConnectorDatabase(config);
  try {
    if (command === 'migrate') return 'connector: the schema is up to date';
    if (command === 'cleanup')
      return describeCleanup(await runCleanup(database.db, new Date(), config.cleanup));
    if (command === 'dead-letters') {
      const counts = await countMessages(database.db);
      const rows = await listMessages(database.db, 'dead', values.limit ? Number(values.limit) : 50);
      const header = `Outbox: ${counts.pending} pending, ${counts.delivered} delivered, ${counts.dead} dead.`;
      return [
        header,
        ...rows.map((row) =>
          [
            `#${row.id}`,
            `event ${row.tuvens_event_id}`,
            row.ticketing_status.padEnd(8),
            `${row.attempts} attempts`,
            row.last_status_code ? `HTTP ${row.last_status_code}` : '',
            row.last_error ?? '',
          ].join('  '),
        ),
      ].join('\n');
    }
    const ids = values.all
      ? (await listMessages(database.db, 'dead', 10_000)).map((row) => row.id)
      : positionals.map(Number);
    if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id))) {
      throw new Error('Name the dead letters to replay by id, or pass --all');
    }
    const now = new Date();
    let revived = 0;
    for (const id of ids) if (await reviveDeadLetter(database.db, id, now)) revived++;
    return `Put ${revived} of ${ids.length} dead letter(s) back in the queue.`;
  } finally {
    await database.close();
  }
}
