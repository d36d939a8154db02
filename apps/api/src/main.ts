import { buildApp } from './app.ts';
import { systemClock } from './clock.ts';
import { type ApiConfig, ConfigError, loadConfig } from './config.ts';
import { openApiDatabase } from './database/database.ts';
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemoData } from './demo/demo-data.ts';

/** Starts tuvens-api: config, database and migrations, demo data, then the HTTP server. */
async function main(): Promise<void> {
  let config: ApiConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tuvens-api cannot start: ${error.message}`);
    process.exit(1);
  }

  const database = await openApiDatabase(config);
  const app = await buildApp({ config, database, runBackgroundJobs: true });
  for (const name of config.developmentSecrets) {
    app.log.warn(`${name} is unset: using its development value. Never do this in production.`);
  }
  if (config.demoData && (await seedDemoData(database.db, systemClock()))) {
    app.log.info(
      { logins: DEMO_LOGINS.map((login) => login.email), password: DEMO_PASSWORD },
      'demo data created',
    );
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
    { database: database.kind === 'pglite' ? `PGlite in ${config.database.dataDir}` : 'PostgreSQL' },
    'tuvens-api ready',
  );
}

await main();
