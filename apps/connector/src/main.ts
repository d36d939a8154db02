import { buildConnector } from './app.ts';
import { ConfigError, type ConnectorConfig, loadConfig } from './config.ts';
import { openConnectorDatabase } from './database/database.ts';

/** Starts the connector: config, database and migrations, the HTTP server, then delivery and reconciliation. */
async function main(): Promise<void> {
  let config: ConnectorConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`connector cannot start: ${error.message}`);
    process.exit(1);
  }

  const database = await openConnectorDatabase(config);
  const { app } = await buildConnector({ config, database });
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

  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    {
      url: config.publicUrl,
      tuvensApi: config.tuvens.apiUrl,
      hiEvents: config.hiEvents.url,
      database: database.kind === 'pglite' ? `PGlite in ${config.database.dataDir}` : 'PostgreSQL',
    },
    'connector ready',
  );
}

await main();
