import type { FastifyBaseLogger } from 'fastify';
import { ConfigError } from './config.ts';

/** What `runServer` reads of an app's config. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly database: { readonly dataDir: string };
  readonly developmentSecrets: readonly string[];
}

/** A built app and its open database, as `start` hands them over. */
export interface StartedServer {
  readonly app: {
    readonly log: FastifyBaseLogger;
    listen(options: { host: string; port: number; backlog?: number }): Promise<unknown>;
    close(): Promise<unknown>;
  };
  readonly database: { readonly kind: 'postgres' | 'pglite'; close(): Promise<void> };
  /** More for the "ready" log line, such as the services this one talks to. */
  readonly ready?: Record<string, unknown>;
}

/**
 * Connections the kernel queues for the server until it accepts them (capped by the kernel's
 * `net.core.somaxconn`, 4096 by default since Linux 5.4). Node's own default of 511 overflows when an
 * instance goes away and thousands of its SSE clients reconnect to another within a second or two:
 * the kernel then drops their SYNs, and each client waits 1, 3, 7… s before trying again
 * (`npm run bench -- reconnect-storm` counts these overflows).
 */
const LISTEN_BACKLOG = 4096;

/**
 * A server's process entry. A bad config prints one line and exits 1 rather than a stack trace;
 * development secrets are warned about on every start; SIGINT or SIGTERM closes the app, so that
 * requests in flight finish, then the database, so that PGlite is flushed, and only once.
 */
export async function runServer<Config extends ServerConfig>(options: {
  /** How the server calls itself in log lines. */
  name: string;
  loadConfig: () => Config;
  /** Opens the database and builds the app, without listening yet. */
  start: (config: Config) => Promise<StartedServer>;
}): Promise<void> {
  let config: Config;
  try {
    config = options.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${options.name} cannot start: ${error.message}`);
    process.exit(1);
  }

  const { app, database, ready } = await options.start(config);
  for (const name of config.developmentSecrets) {
    app.log.warn(`${name} is unset: using its development value. Never do this in production.`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
  app.log.info(
    {
      ...ready,
      database: database.kind === 'pglite' ? `PGlite in ${config.database.dataDir}` : 'PostgreSQL',
    },
    `${options.name} ready`,
  );
}
