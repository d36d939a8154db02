/**
 * `npm run ops -- <service> <command> [options]`: the operator's tool. Each service's commands
 * run against that service's own database, configured by the same environment the service reads.
 */
import { API_OPS_USAGE, runApiCommand } from '../apps/api/src/operations/cli.ts';
import { CONNECTOR_OPS_USAGE, runConnectorCommand } from '../apps/connector/src/operations/cli.ts';

const USAGE = `Usage: npm run ops -- <service> <command> [options]

${API_OPS_USAGE}

${CONNECTOR_OPS_USAGE}

Embedded PGlite allows one process at a time: stop \`npm start\` before running a command against .data/.`;

const COMMANDS: Record<
  string,
  { run: (args: string[], env: NodeJS.ProcessEnv) => Promise<string>; port: string }
> = {
  api: { run: runApiCommand, port: process.env.API_PORT ?? '4000' },
  connector: { run: runConnectorCommand, port: process.env.CONNECTOR_PORT ?? '4100' },
};

async function serviceIsRunning(port: string): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

const [service, ...args] = process.argv.slice(2);
const target = service ? COMMANDS[service] : undefined;
if (!target || args.length === 0) {
  console.error(USAGE);
  process.exit(2);
}
if (!process.env.DATABASE_URL && (await serviceIsRunning(target.port))) {
  console.error(
    `The ${service} is running on embedded PGlite; stop it first (PGlite allows one process at a time).`,
  );
  process.exit(1);
}
try {
  console.log(await target.run(args, { LOG_LEVEL: 'warn', ...process.env }));
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
