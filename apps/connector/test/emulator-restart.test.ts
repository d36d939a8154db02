import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApi } from '@tuvens/api/testing';
import { freePort, type ServiceProcess, startService } from '@tuvens/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { cookiesOf, startSignIn, startTestConnector, type TestConnector } from './helpers.ts';

const EMULATOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../packages/hi-events-emulator');

/**
 * `npm start` a second time: the emulator runs as its own process with `EMULATOR_DATA_DIR`, as under
 * `npm start`, and is stopped and started again while the connector remembers its ids.
 */
describe('an emulator restarted under npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hi-events-emulator-'));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps its users, accounts and events, so that signing in again after the restart works', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const startEmulatorProcess = () =>
      startService({
        name: 'hi-events-emulator',
        script: 'src/main.ts',
        cwd: EMULATOR_DIR,
        env: {
          NODE_ENV: 'test',
          EMULATOR_PORT: String(port),
          EMULATOR_PUBLIC_URL: url,
          EMULATOR_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
        },
        readyUrl: `${url}/healthz`,
      });
    let emulator: ServiceProcess = await startEmulatorProcess();
    cleanups.push(() => emulator.stop());
    const api = await startTestApi();
    cleanups.push(() => api.close());
    const connector: TestConnector = await startTestConnector({ tuvensApiUrl: api.url, hiEventsUrl: url });
    cleanups.push(() => connector.close());
    const organizer = await api.login('organizer@tuvens.test');
    // As a browser signs in: started at the connector, a session bound to its challenge, the landing's post.
    const signIn = async () => {
      const start = await startSignIn(connector);
      const generated = await api.request('POST', '/api/cross-app/generate-session', {
        body: { eventId: 1, appId: 'hi-events', codeChallenge: start.codeChallenge },
        headers: { authorization: `Bearer ${organizer}` },
      });
      return connector.request('POST', '/auth/cross-app/validate', {
        body: { session_token: generated.body.session_token, event_id: '1', state: start.state },
        headers: { origin: connector.config.publicOrigin, cookie: start.cookie },
      });
    };

    const first = await signIn();
    expect(first.status).toBe(200);
    const firstToken = cookiesOf(first.headers).token!.value;
    const eventId = first.body.hi_events_event_id as number;

    await emulator.stop();
    emulator = await startEmulatorProcess();

    // The token issued before the restart still works (same secret, same user), and so does a new sign-in.
    const read = await fetch(`${url}/api/events/${eventId}`, { headers: { cookie: `token=${firstToken}` } });
    expect(read.status).toBe(200);
    const again = await signIn();
    expect(again.status).toBe(200);
    expect(again.body.hi_events_event_id).toBe(eventId);
    const reconciled = await connector.connector.reconciler.runOnce();
    expect(reconciled.failed).toBe(0);
  });
});
