import { runServer } from '@tuvens/server';
import { buildConnector } from './app.ts';
import { loadConfig } from './config.ts';
import { openConnectorDatabase } from './database/database.ts';

// Starts the connector: config, database and migrations, the HTTP server, then delivery and reconciliation.
await runServer({
  name: 'connector',
  loadConfig: () => loadConfig(process.env),
  async start(config) {
    const database = await openConnectorDatabase(config);
    const { app } = await buildConnector({ config, database });
    return {
      app,
      database,
      ready: { url: config.publicUrl, tuvensApi: config.tuvens.apiUrl, hiEvents: config.hiEvents.url },
    };
  },
});
