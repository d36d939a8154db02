import { ConfigError, type EmulatorConfig, loadEmulatorConfig } from './config.ts';
import { startEmulator } from './emulator.ts';

/** Starts the Hi.Events emulator for development: in-memory state, listening until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  let config: EmulatorConfig;
  try {
    config = loadEmulatorConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`hi-events-emulator cannot start: ${error.message}`);
    process.exit(1);
  }

  const emulator = await startEmulator({ config });
  if (config.usesDevelopmentSecret) {
    emulator.app.log.warn('HI_EVENTS_JWT_SECRET is unset: using its development value.');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    emulator.app.log.info({ signal }, 'shutting down');
    await emulator.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  emulator.app.log.info(
    { url: emulator.url },
    config.dataDir
      ? `Hi.Events emulator ready (development only; state kept in ${config.dataDir})`
      : 'Hi.Events emulator ready (development only; state is in memory)',
  );
}

await main();
