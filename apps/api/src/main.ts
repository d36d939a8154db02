import { runServer, systemClock } from '@tuvens/server';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { openApiDatabase } from './database/database.ts';
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemoData } from './demo/demo-data.ts';

// Starts tuvens-api: config, database and migrations, demo data, then the HTTP server.
await runServer({
  name: 'tuvens-api',
  loadConfig: () => loadConfig(process.env),
  async start(config) {
    const database = await openApiDatabase(config);
    const app = await buildApp({ config, database, runBackgroundJobs: true });
    if (config.demoData && (await seedDemoData(database.db, systemClock()))) {
      app.log.info(
        { logins: DEMO_LOGINS.map((login) => login.email), password: DEMO_PASSWORD },
        'demo data created',
      );
    }
    return { app, database };
  },
});
