import { setTimeout as sleep } from 'node:timers/promises';
import { signStatusWebhook, statusWebhook } from '@tuvens/api/testing';
import type { TicketingStatus } from '@tuvens/contracts';
import type { RunningEmulator } from '@tuvens/hi-events-emulator';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accountForDeliveries,
  apiEnvironment,
  compareReceived,
  connectorEnvironment,
  countsOf,
  createDatabase,
  createTuvensEvent,
  enableTicketing,
  expectedIds,
  findSecrets,
  freePort,
  GiveUp,
  generateSecrets,
  generateSession,
  type Handshake,
  isPostgresReady,
  login,
  openSql,
  openSseClient,
  POSTGRES_SERVER_URL,
  pollUntil,
  printSummary,
  readChangeLog,
  readOutbox,
  readReceipts,
  readTicketingStatuses,
  requirePostgres,
  restartPostgres,
  type ScratchDatabase,
  type Secrets,
  type ServiceProcess,
  type Sql,
  type SseClient,
  sendHttp,
  setHiEventsStatus,
  startHiEvents,
  startPostgres,
  startService,
  stopAllServices,
  stopPostgres,
} from './support/index.ts';

/** Events with ticketing enabled before the load starts; their statuses change throughout. */
const EVENTS_LINKED_FIRST = 4;
/** Events whose "Enable ticketing" handshake runs during the load, across the outage. */
const EVENTS_LINKED_UNDER_LOAD = 10;
/** How long the database stays down once both services have said so. */
const OUTAGE_MS = 4_000;
const LOAD_AFTER_RECOVERY_MS = 3_000;
const MAX_LOAD_MS = 90_000;
/** How long PostgreSQL keeps terminating the services' connections, and how often. */
const TERMINATING_MS = 10_000;
const TERMINATE_EVERY_MS = 100;
const EVENTS_WITH_DIRECT_WEBHOOKS = 6;

type Phase = 'before' | 'stopping' | 'down' | 'starting' | 'after' | 'bounce';

/** tuvens-api and the connector as processes, each on its own fresh database, with Hi.Events beside them. */
interface System {
  api: ServiceProcess;
  connector: ServiceProcess;
  emulator: RunningEmulator;
  apiDatabase: ScratchDatabase;
  connectorDatabase: ScratchDatabase;
  apiSql: Sql;
  connectorSql: Sql;
  urls: { apiUrl: string; connectorUrl: string };
  /** Stops a wait at once, with the dead service's last words, if either service has ended. */
  assertRunning(): void;
  /** Where each event stands on every side, and what the services logged, for a failure's message. */
  describe(eventIds: number[]): Promise<string>;
  stop(): Promise<void>;
}

async function startSystem(secrets: Secrets, label: string): Promise<System> {
  const apiDatabase = await createDatabase(`${label}_api`);
  const connectorDatabase = await createDatabase(`${label}_connector`);
  const emulator = await startHiEvents(secrets);
  const apiPort = await freePort();
  const connectorPort = await freePort();
  const api = await startService({
    name: 'tuvens-api',
    app: 'api',
    port: apiPort,
    env: apiEnvironment({
      port: apiPort,
      databaseUrl: apiDatabase.url,
      secrets,
      hiEventsUrl: `http://127.0.0.1:${connectorPort}`,
    }),
  });
  const connector = await startService({
    name: 'connector',
    app: 'connector',
    port: connectorPort,
    env: connectorEnvironment({
      port: connectorPort,
      databaseUrl: connectorDatabase.url,
      secrets,
      tuvensApiUrl: api.url,
      hiEventsUrl: emulator.url,
      // The reconciler re-reads what Hi.Events' webhooks could not deliver while the database was down.
      env: { RECONCILE_INTERVAL_S: '2' },
    }),
  });
  const apiSql = openSql(apiDatabase.url);
  const connectorSql = openSql(connectorDatabase.url);
  return {
    api,
    connector,
    emulator,
    apiDatabase,
    connectorDatabase,
    apiSql,
    connectorSql,
    urls: { apiUrl: api.url, connectorUrl: connector.url },
    assertRunning() {
      api.assertRunning();
      connector.assertRunning();
    },
    async describe(eventIds) {
      const logs = [
        'connector log:',
        ...connector.output.slice(-20),
        'tuvens-api log:',
        ...api.output.slice(-10),
      ];
      if (!(await isPostgresReady())) return logs.join('\n');
      const statuses = await readTicketingStatuses(apiSql, eventIds);
      const links = await connectorSql.rows<Record<string, unknown>>(
        `select tuvens_event_id, hi_events_event_id, reported_status, hi_events_status, webhook_id,
                observed_at, hi_events_sent_at, reconciled_at from event_links order by tuvens_event_id`,
      );
      const unfinished = (await readOutbox(connectorSql)).filter((message) => message.status !== 'delivered');
      return [
        ...links.map((link) => {
          const event = emulator.store.events.get(Number(link.hi_events_event_id));
          return `event ${link.tuvens_event_id}: tuvens=${statuses.get(Number(link.tuvens_event_id))} hi-events=${event?.status} link=${JSON.stringify(link)}`;
        }),
        `undelivered: ${JSON.stringify(unfinished)}`,
        ...logs,
      ].join('\n');
    },
    async stop() {
      await stopAllServices();
      await emulator.close();
      await apiSql.close();
      await connectorSql.close();
      await apiDatabase.drop();
      await connectorDatabase.drop();
    },
  };
}

/** Organizers publishing and pausing their events in Hi.Events, each event at its own pace, while `going()`. */
function changeStatuses(system: System, linked: Handshake[], going: () => boolean) {
  let changes = 0;
  const changers = new Map<number, Promise<void>>();
  const changer = async (event: Handshake) => {
    for (let turn = 0; going(); turn++) {
      await setHiEventsStatus(system.emulator.url, event, turn % 2 === 0 ? 'LIVE' : 'DRAFT');
      changes++;
      await sleep(600 + Math.floor(Math.random() * 300));
    }
  };
  const startNew = () => {
    for (const event of linked) {
      if (!changers.has(event.tuvensEventId)) changers.set(event.tuvensEventId, changer(event));
    }
  };
  startNew();
  const timer = setInterval(startNew, 200);
  return {
    count: () => changes,
    async finish() {
      clearInterval(timer);
      await Promise.all(changers.values());
    },
  };
}

/**
 * Publishes every event a last time and waits until the connector has delivered everything and
 * tuvens-api shows each event active; then compares the outbox with what tuvens-api applied.
 */
async function finishAndAccount(system: System, linked: Handshake[]) {
  // Hi.Events stamps webhooks to the second: the last change gets a second of its own.
  await sleep(1_100);
  await Promise.all(linked.map((event) => setHiEventsStatus(system.emulator.url, event, 'LIVE')));
  await system.emulator.webhooks.idle();
  const linkedIds = linked.map((event) => event.tuvensEventId);
  try {
    await pollUntil(
      'every queued status to be delivered and every event to be active',
      async () => {
        system.assertRunning();
        const [outbox] = await system.connectorSql.rows<{ pending: number }>(
          `select count(*) filter (where status = 'pending')::int as pending from status_outbox`,
        );
        const statuses = await readTicketingStatuses(system.apiSql, linkedIds);
        return outbox!.pending === 0 && linkedIds.every((id) => statuses.get(id) === 'active');
      },
      // A delivery whose outcome could not be recorded during the outage waits for its lease to lapse.
      { timeoutMs: 150_000, intervalMs: 250 },
    );
  } catch (error) {
    if (error instanceof GiveUp) throw error;
    throw new Error(`${(error as Error).message}\n${await system.describe(linkedIds)}`);
  }
  const outbox = await readOutbox(system.connectorSql);
  const changes = await readChangeLog(system.apiSql);
  const ofLinkedEvents = changes.filter((change) => linkedIds.includes(change.event_id));
  return {
    changes,
    account: accountForDeliveries(outbox, ofLinkedEvents, await readReceipts(system.apiSql)),
  };
}

/** How many Hi.Events events carry each Tuvens event's id: one each, however often its handshake was tried. */
function hiEventsEventsPer(system: System, tuvensEventIds: number[]): number[] {
  return tuvensEventIds.map(
    (id) =>
      [...system.emulator.store.events.values()].filter(
        (event) =>
          !event.deleted_at &&
          event.attributes.some(
            (attribute) => attribute.name === 'tuvens_event_id' && String(attribute.value) === String(id),
          ),
      ).length,
  );
}

describe('PostgreSQL restarted, or dropping connections, under load', () => {
  const secrets = generateSecrets();
  let system: System | undefined;
  const clients: SseClient[] = [];
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    await requirePostgres();
  });

  afterEach(async () => {
    // Whatever happened, the shared server is left running.
    await startPostgres();
    for (const cleanup of cleanups.splice(0)) cleanup();
    for (const client of clients.splice(0)) client.close();
    await system?.stop();
    system = undefined;
  });

  it('applies every queued status exactly once after a restart, and both services recover by themselves, reporting the outage on /readyz while it lasts', async () => {
    const current = await startSystem(secrets, 'restart');
    system = current;
    const { api, connector, emulator } = current;
    const organizer = await login(api.url, 'organizer@tuvens.test');
    const eventIds: number[] = [];
    for (let index = 0; index < EVENTS_LINKED_FIRST + EVENTS_LINKED_UNDER_LOAD; index++) {
      eventIds.push(await createTuvensEvent(api.url, organizer, { title: `Database restart ${index}` }));
    }
    const linked: Handshake[] = [];
    for (const eventId of eventIds.slice(0, EVENTS_LINKED_FIRST)) {
      linked.push(await enableTicketing(current.urls, organizer, eventId));
    }
    const sse = openSseClient('sse', () => api.url);
    clients.push(sse);
    await pollUntil('the SSE client to be ready', () => sse.readyIds.length > 0);
    const pids = [api.pid, connector.pid];

    // /readyz of both services, asked every 100 ms, each answer filed under the phase it came in.
    let phase: Phase = 'before';
    const phases = (): Record<Phase, Record<string, number>> => ({
      before: {},
      stopping: {},
      down: {},
      starting: {},
      after: {},
      bounce: {},
    });
    const readiness = { api: phases(), connector: phases() };
    let probing = true;
    const probe = async (name: 'api' | 'connector', url: string) => {
      while (probing) {
        const asked: Phase = phase;
        const answer = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(8_000) })
          .then((response) => String(response.status))
          .catch(() => 'no answer');
        const tally = readiness[name][asked];
        tally[answer] = (tally[answer] ?? 0) + 1;
        await sleep(100);
      }
    };
    const probes = Promise.all([probe('api', api.url), probe('connector', connector.url)]);
    cleanups.push(() => {
      probing = false;
    });

    // The load: handshakes for new events, and organizers changing statuses in Hi.Events.
    let loading = true;
    const loadDeadline = Date.now() + MAX_LOAD_MS;
    const statusLoad = changeStatuses(current, linked, () => loading && Date.now() < loadDeadline);
    const handshakeLoad = { done: 0, tries: 0 };
    const queue = eventIds.slice(EVENTS_LINKED_FIRST);
    const handshaker = async () => {
      for (let eventId = queue.shift(); eventId !== undefined; eventId = queue.shift()) {
        const handshake = await enableTicketing(current.urls, organizer, eventId, {
          maxTries: 200,
          pauseMs: 300,
          worthTrying: current.assertRunning,
        });
        handshakeLoad.done++;
        handshakeLoad.tries += handshake.tries;
        linked.push(handshake);
        await sleep(800);
      }
    };
    const handshakes = Promise.all([handshaker(), handshaker()]);

    let outageMs = 0;
    try {
      await pollUntil(
        'some load before the restart',
        () => statusLoad.count() >= 8 && handshakeLoad.done >= 1,
        {
          timeoutMs: 60_000,
        },
      );
      phase = 'stopping';
      const stoppedAt = Date.now();
      await stopPostgres();
      phase = 'down';
      await pollUntil(
        'both services to report the outage on /readyz',
        () => {
          current.assertRunning();
          return readiness.api.down['503'] && readiness.connector.down['503'];
        },
        { timeoutMs: 30_000 },
      );
      await sleep(OUTAGE_MS);
      current.assertRunning();
      phase = 'starting';
      await startPostgres();
      outageMs = Date.now() - stoppedAt;
      phase = 'after';
      await pollUntil(
        'both services to be ready again',
        async () => {
          current.assertRunning();
          const answers = await Promise.all(
            [api.url, connector.url].map((url) =>
              fetch(`${url}/readyz`)
                .then((response) => response.status)
                .catch(() => 0),
            ),
          );
          return answers.every((status) => status === 200);
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await sleep(LOAD_AFTER_RECOVERY_MS);
      // And a plain `pg_ctlcluster restart` under the same load: every connection dropped at once.
      phase = 'bounce';
      await restartPostgres();
      phase = 'after';
      await sleep(LOAD_AFTER_RECOVERY_MS);
      current.assertRunning();
      await handshakes;
    } finally {
      loading = false;
      await startPostgres();
      await statusLoad.finish();
      await handshakes.catch(() => {});
    }

    const { changes, account } = await finishAndAccount(current, linked);
    probing = false;
    await probes;
    const expectedSse = expectedIds(changes, sse.readyIds[0]!);
    await pollUntil(
      'the SSE client to receive every change',
      () => compareReceived(sse, expectedSse).missing.length === 0,
      {
        timeoutMs: 20_000,
      },
    ).catch(() => {});
    const sseResult = compareReceived(sse, expectedSse);
    const perTuvensEvent = hiEventsEventsPer(current, eventIds);
    const [links] = await current.connectorSql.rows<{ links: number }>(
      'select count(*)::int as links from event_links',
    );

    printSummary('postgres restart', {
      outageMs,
      bounces: 1,
      handshakes: handshakeLoad.done,
      handshakeTries: handshakeLoad.tries,
      hiEventsStatusChanges: statusLoad.count(),
      hiEventsWebhooksNotTakenIn: emulator.webhooks.deliveries.filter((delivery) => delivery.status !== 200)
        .length,
      readyzApi: readiness.api,
      readyzConnector: readiness.connector,
      ...countsOf(account),
      sseReceived: sseResult.received,
      sseMissing: sseResult.missing.length,
      sseDuplicates: sseResult.duplicates,
      restartedServices: Number(api.pid !== pids[0]) + Number(connector.pid !== pids[1]),
    });

    // Nothing lost, nothing applied twice.
    expect(account.problems).toEqual([]);
    expect(account.queued).toBeGreaterThan(0);
    expect(account.appliedOnce).toBe(account.queued);
    // Every handshake finished, and each made one Hi.Events event and one link however often it was tried.
    expect(handshakeLoad.done).toBe(EVENTS_LINKED_UNDER_LOAD);
    expect(links!.links).toBe(eventIds.length);
    expect(perTuvensEvent).toEqual(eventIds.map(() => 1));
    // The outage was reported while it lasted, and both services came back on their own.
    for (const name of ['api', 'connector'] as const) {
      expect(readiness[name].down['503'], name).toBeGreaterThan(0);
      expect(readiness[name].down['200'] ?? 0, name).toBe(0);
      expect(readiness[name].after['200'], name).toBeGreaterThan(0);
    }
    expect([api.pid, connector.pid]).toEqual(pids);
    expect(api.isRunning() && connector.isRunning()).toBe(true);
    // The live updates stream came through the outage without losing or repeating a change.
    expect(sseResult).toMatchObject({ missing: [], duplicates: 0, unexpected: [], inOrder: true });
    expect(await isPostgresReady()).toBe(true);
    expect(findSecrets([...api.output, ...connector.output].join('\n'), { ...secrets })).toEqual([]);
  });

  it('keeps both services running, and loses nothing, while PostgreSQL terminates their connections under load', async () => {
    const current = await startSystem(secrets, 'drops');
    system = current;
    const { api, connector } = current;
    const organizer = await login(api.url, 'organizer@tuvens.test');
    const linked: Handshake[] = [];
    for (let index = 0; index < EVENTS_LINKED_FIRST; index++) {
      const eventId = await createTuvensEvent(api.url, organizer, { title: `Dropped connections ${index}` });
      linked.push(await enableTicketing(current.urls, organizer, eventId));
    }
    const directEvents: number[] = [];
    for (let index = 0; index < EVENTS_WITH_DIRECT_WEBHOOKS; index++) {
      const eventId = await createTuvensEvent(api.url, organizer, { title: `Direct webhooks ${index}` });
      await generateSession(api.url, organizer, eventId);
      directEvents.push(eventId);
    }

    let loading = true;
    const statusLoad = changeStatuses(current, linked, () => loading);
    // Signed status webhooks straight to tuvens-api, each sent until it is answered, as the connector would.
    const direct = { sent: new Set<string>(), answered: 0, retried: 0 };
    const cycle: TicketingStatus[] = ['active', 'inactive'];
    const sendDirect = async (eventId: number) => {
      for (let step = 0; loading; step++) {
        const webhook = statusWebhook({
          tuvens_event_id: eventId,
          status: step === 0 ? 'setup' : cycle[(step - 1) % 2]!,
        });
        const rawBody = JSON.stringify(webhook);
        direct.sent.add(webhook.id);
        for (;;) {
          if (!api.isRunning()) return;
          const answer = await sendHttp(`${api.url}/api/webhooks/hi-events/event-status-changed`, 'POST', {
            body: rawBody,
            headers: signStatusWebhook(rawBody, { secret: secrets.webhook }),
          }).catch(() => undefined);
          if (answer && answer.status < 500) {
            direct.answered++;
            break;
          }
          direct.retried++;
          await sleep(20);
        }
        await sleep(10);
      }
    };
    const directLoad = Promise.all(directEvents.map(sendDirect));

    // PostgreSQL ends every connection of both services, over and over, as a failover or a restart does.
    const admin = openSql(POSTGRES_SERVER_URL);
    let terminated = 0;
    let rounds = 0;
    const until = Date.now() + TERMINATING_MS;
    try {
      while (Date.now() < until && api.isRunning() && connector.isRunning()) {
        const [row] = await admin.rows<{ terminated: number }>(
          `select count(pg_terminate_backend(pid))::int as terminated from pg_stat_activity
           where datname = any($1::text[]) and pid <> pg_backend_pid()`,
          [[current.apiDatabase.name, current.connectorDatabase.name]],
        );
        terminated += row!.terminated;
        rounds++;
        await sleep(TERMINATE_EVERY_MS);
      }
    } finally {
      await admin.close();
      loading = false;
      await statusLoad.finish();
      await directLoad;
    }

    const gone = [api, connector]
      .filter((service) => !service.isRunning())
      .map(
        (service) =>
          `${service.name} is gone (${service.exitStatus()}); its last log lines:\n${service.output.slice(-30).join('\n')}`,
      );
    printSummary('postgres dropping connections', {
      rounds,
      connectionsTerminated: terminated,
      servicesStillRunning: [api, connector]
        .filter((service) => service.isRunning())
        .map((service) => service.name),
      directWebhooks: direct.sent.size,
      directAnswered: direct.answered,
      directRetriedAfter5xxOrNoAnswer: direct.retried,
      hiEventsStatusChanges: statusLoad.count(),
    });
    expect(gone, gone.join('\n\n')).toEqual([]);

    const { changes, account } = await finishAndAccount(current, linked);
    const directChanges = changes.filter((change) => directEvents.includes(change.event_id));
    const appliedIds = directChanges.map((change) => change.webhook_id);
    printSummary('postgres dropping connections: counted', {
      ...countsOf(account),
      directApplied: directChanges.length,
      directDuplicates: appliedIds.length - new Set(appliedIds).size,
      directLost: [...direct.sent].filter((id) => !appliedIds.includes(id)).length,
    });
    expect(account.problems).toEqual([]);
    expect(account.appliedOnce).toBe(account.queued);
    expect(new Set(appliedIds).size).toBe(appliedIds.length);
    expect(new Set(appliedIds)).toEqual(direct.sent);
    expect(
      hiEventsEventsPer(
        current,
        linked.map((event) => event.tuvensEventId),
      ),
    ).toEqual(linked.map(() => 1));
  });
});
