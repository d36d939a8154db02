import { setTimeout as sleep } from 'node:timers/promises';
import type { TicketingStatus } from '@tuvens/contracts';
import type { RunningEmulator } from '@tuvens/hi-events-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountForDeliveries,
  apiEnvironment,
  connectorEnvironment,
  countsOf,
  createDatabase,
  createTuvensEvent,
  type DeliveryGate,
  enableTicketing,
  findSecrets,
  freePort,
  generateSecrets,
  type Handshake,
  login,
  openSql,
  pollUntil,
  printSummary,
  readChangeLog,
  readOutbox,
  readReceipts,
  readTicketingStatuses,
  requirePostgres,
  type ScratchDatabase,
  type ServiceProcess,
  type Sql,
  setHiEventsStatus,
  startDeliveryGate,
  startHiEvents,
  startService,
  stopAllServices,
} from './support/index.ts';

const EVENTS = 6;
/** What the organizer does in Hi.Events while the connector is up, and what it must report for it. */
const CHANGES_BEFORE_CRASH = ['LIVE', 'DRAFT', 'LIVE', 'ARCHIVED'] as const;
const REPORTED: TicketingStatus[] = ['setup', 'active', 'inactive', 'active', 'inactive', 'active'];
/** Hi.Events stamps webhooks to the second; an organizer's clicks are further apart than that. */
const BETWEEN_CLICKS_MS = 1_100;

describe('the connector killed with deliveries queued and in flight', () => {
  const secrets = generateSecrets();
  let apiDatabase: ScratchDatabase;
  let connectorDatabase: ScratchDatabase;
  let apiSql: Sql;
  let connectorSql: Sql;
  let emulator: RunningEmulator;
  let api: ServiceProcess;
  let gate: DeliveryGate;
  let connectorEnv: Record<string, string>;
  let connectorPort: number;

  beforeAll(async () => {
    await requirePostgres();
    apiDatabase = await createDatabase('api');
    connectorDatabase = await createDatabase('connector');
    apiSql = openSql(apiDatabase.url);
    connectorSql = openSql(connectorDatabase.url);
    emulator = await startHiEvents(secrets);
    const apiPort = await freePort();
    connectorPort = await freePort();
    api = await startService({
      name: 'api',
      app: 'api',
      port: apiPort,
      env: apiEnvironment({
        port: apiPort,
        databaseUrl: apiDatabase.url,
        secrets,
        hiEventsUrl: `http://127.0.0.1:${connectorPort}`,
      }),
    });
    gate = await startDeliveryGate(api.url);
    connectorEnv = connectorEnvironment({
      port: connectorPort,
      databaseUrl: connectorDatabase.url,
      secrets,
      tuvensApiUrl: gate.url,
      hiEventsUrl: emulator.url,
      // Long enough that deliveries held at the gate are still in flight when the connector is killed.
      env: { DELIVERY_TIMEOUT_MS: '10000', RECONCILE_INTERVAL_S: '1' },
    });
  });

  afterAll(async () => {
    await stopAllServices();
    await gate?.close();
    await emulator?.close();
    await apiSql?.close();
    await connectorSql?.close();
    await apiDatabase?.drop();
    await connectorDatabase?.drop();
  });

  const startConnector = () =>
    startService({ name: 'connector', app: 'connector', port: connectorPort, env: connectorEnv });

  const outboxCounts = async () => {
    const [row] = await connectorSql.rows<{
      pending: number;
      delivered: number;
      dead: number;
      claimed: number;
    }>(
      `select count(*) filter (where status = 'pending')::int as pending,
              count(*) filter (where status = 'delivered')::int as delivered,
              count(*) filter (where status = 'dead')::int as dead,
              count(*) filter (where status = 'pending' and claimed_until > now())::int as claimed
       from status_outbox where webhook_path is null`,
    );
    return row!;
  };

  it('delivers every queued status after a restart, in order, each applied once', async () => {
    let connector = await startConnector();
    const organizer = await login(api.url, 'organizer@tuvens.test');
    const system = { apiUrl: api.url, connectorUrl: connector.url };
    const events: Handshake[] = [];
    for (let index = 0; index < EVENTS; index++) {
      const eventId = await createTuvensEvent(api.url, organizer, { title: `Connector crash ${index}` });
      events.push(await enableTicketing(system, organizer, eventId));
    }
    await pollUntil(
      'the setup statuses to be delivered',
      async () => (await outboxCounts()).delivered === EVENTS,
    );

    // tuvens-api stops answering the connector: deliveries pile up behind the one in flight per event.
    gate.hold();
    for (const status of CHANGES_BEFORE_CRASH) {
      await sleep(BETWEEN_CLICKS_MS);
      await Promise.all(events.map((event) => setHiEventsStatus(emulator.url, event, status)));
      await emulator.webhooks.idle();
    }
    const queuedBeforeCrash = EVENTS * (1 + CHANGES_BEFORE_CRASH.length);
    await pollUntil(
      'every change to be queued, with the deliveries of several events held in flight',
      async () => {
        const counts = await outboxCounts();
        return counts.pending + counts.delivered === queuedBeforeCrash && gate.openNow() >= EVENTS / 2;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

    const atCrash = { ...(await outboxCounts()), inFlight: gate.openNow(), ...gate.counts };
    await connector.kill();

    // While it is down the organizer publishes every event again; Hi.Events' webhooks find no one.
    await sleep(BETWEEN_CLICKS_MS);
    await Promise.all(events.map((event) => setHiEventsStatus(emulator.url, event, 'LIVE')));
    await emulator.webhooks.idle();
    const unheard = emulator.webhooks.deliveries.filter((delivery) => delivery.status === null).length;

    gate.release();
    connector = await startConnector();
    const eventIds = events.map((event) => event.tuvensEventId);
    await pollUntil(
      'every status to be delivered and every event to be active again',
      async () => {
        const counts = await outboxCounts();
        const statuses = await readTicketingStatuses(apiSql, eventIds);
        return (
          counts.pending === 0 &&
          counts.delivered === EVENTS * REPORTED.length &&
          eventIds.every((id) => statuses.get(id) === 'active')
        );
      },
      // A claim of the killed connector lapses only after its lease (the delivery timeout plus 30 s).
      { timeoutMs: 120_000, intervalMs: 250 },
    );

    const outbox = await readOutbox(connectorSql);
    const account = accountForDeliveries(outbox, await readChangeLog(apiSql), await readReceipts(apiSql));
    printSummary('connector restart', {
      events: EVENTS,
      queuedBeforeCrash,
      pendingAtCrash: atCrash.pending,
      inFlightAtCrash: atCrash.inFlight,
      appliedButUnansweredAtCrash: atCrash.heldAfterApplying,
      unsentAtCrash: atCrash.heldUnsent,
      webhooksMissedWhileDown: unheard,
      redeliveredAnsweredDuplicate: gate.counts.answeredDuplicate,
      ...countsOf(account),
    });

    expect(account.problems).toEqual([]);
    expect(account).toMatchObject({
      queued: EVENTS * REPORTED.length,
      appliedOnce: EVENTS * REPORTED.length,
    });
    for (const eventId of eventIds) {
      const reported = outbox.filter((message) => message.tuvens_event_id === eventId);
      expect(
        reported.map((message) => message.ticketing_status),
        `event ${eventId}`,
      ).toEqual(REPORTED);
    }
    // What tuvens-api applied without the connector hearing of it came again and was recognised.
    expect(gate.counts.answeredDuplicate).toBeGreaterThanOrEqual(atCrash.heldAfterApplying > 0 ? 1 : 0);
    expect(atCrash.inFlight).toBeGreaterThan(0);
    expect(api.isRunning()).toBe(true);
    expect(findSecrets([...api.output, ...connector.output].join('\n'), { ...secrets })).toEqual([]);
  });
});
