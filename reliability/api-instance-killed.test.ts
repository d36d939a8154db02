import { setTimeout as sleep } from 'node:timers/promises';
import { signStatusWebhook, statusWebhook } from '@tuvens/api/testing';
import type { TicketingStatus } from '@tuvens/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiEnvironment,
  compareReceived,
  createDatabase,
  createTuvensEvent,
  expectedIds,
  findSecrets,
  freePort,
  generateSecrets,
  generateSession,
  login,
  openSql,
  openSseClient,
  pollUntil,
  printSummary,
  readChangeLog,
  requirePostgres,
  type ScratchDatabase,
  type ServiceProcess,
  type Sql,
  type SseClient,
  sendHttp,
  startService,
  stopAllServices,
} from './support/index.ts';

const PUBLIC_EVENTS = 6;
const STEPS_PER_EVENT = 30;
const ANONYMOUS_CLIENTS_ON_FIRST = 8;
/** The statuses each event goes through, over and over: every step a move the state machine allows. */
const CYCLE: TicketingStatus[] = ['active', 'inactive'];

describe('two tuvens-api instances on one database, one killed mid-load', () => {
  const secrets = generateSecrets();
  let database: ScratchDatabase;
  let sql: Sql;
  let first: ServiceProcess;
  let second: ServiceProcess;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    await requirePostgres();
    database = await createDatabase('sse');
    sql = openSql(database.url);
    const start = async (name: string) => {
      const port = await freePort();
      return startService({
        name,
        app: 'api',
        port,
        env: apiEnvironment({ port, databaseUrl: database.url, secrets }),
      });
    };
    // One after the other: the first migrates and seeds the database, the second finds it ready.
    first = await start('api-1');
    second = await start('api-2');
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await stopAllServices();
    await sql?.close();
    await database?.drop();
  });

  it('moves the SSE clients of the killed instance to the other, which replays from Last-Event-ID so that no client misses or repeats a change', async () => {
    const organizer = await login(second.url, 'organizer@tuvens.test');
    const publicEvents: number[] = [];
    for (let index = 0; index < PUBLIC_EVENTS; index++) {
      publicEvents.push(await createTuvensEvent(second.url, organizer, { title: `SSE failover ${index}` }));
    }
    const privateEvent = await createTuvensEvent(second.url, organizer, {
      title: 'SSE failover (private)',
      visibility: 'private',
    });
    const allEvents = [...publicEvents, privateEvent];
    // The organizer enables ticketing of each, so that status webhooks may link them.
    for (const eventId of allEvents) await generateSession(second.url, organizer, eventId);

    // Clients of the first instance are sent to the second once it is gone, as a load balancer would.
    let firstIsGone = false;
    const viaFirst = () => (firstIsGone ? second.url : first.url);
    const viaSecond = () => second.url;
    const filtered = publicEvents.slice(0, 3);
    const plan: { client: SseClient; sees: (eventId: number) => boolean }[] = [
      ...Array.from({ length: ANONYMOUS_CLIENTS_ON_FIRST }, (_, index) => ({
        client: openSseClient(`first/all-${index + 1}`, viaFirst),
        sees: (id: number) => id !== privateEvent,
      })),
      {
        client: openSseClient('first/filtered', viaFirst, { query: `?eventIds=${filtered.join(',')}` }),
        sees: (id) => filtered.includes(id),
      },
      { client: openSseClient('first/organizer', viaFirst, { bearer: organizer }), sees: () => true },
      { client: openSseClient('second/all', viaSecond), sees: (id) => id !== privateEvent },
      {
        client: openSseClient('second/filtered', viaSecond, {
          query: `?eventIds=${[...publicEvents.slice(3), privateEvent].join(',')}`,
        }),
        sees: (id) => publicEvents.slice(3).includes(id),
      },
    ];
    clients.push(...plan.map((entry) => entry.client));
    await pollUntil(
      'every SSE client to be ready',
      () => clients.every((client) => client.readyIds.length > 0),
      {
        timeoutMs: 20_000,
      },
    );

    // Load: each event walks through its statuses one webhook at a time, the webhooks spread over both
    // instances; one that fails because its instance died is sent again, unchanged, to the other.
    const totals = { sent: 0, resent: 0, applied: 0, duplicate: 0, other: 0 };
    let webhooksTowardsFirst = true;
    let turn = 0;
    const sendOne = async (eventId: number, status: TicketingStatus) => {
      const rawBody = JSON.stringify(statusWebhook({ tuvens_event_id: eventId, status }));
      totals.sent++;
      for (let attempt = 1; attempt <= 20; attempt++) {
        const target = webhooksTowardsFirst && turn++ % 2 === 0 ? first : second;
        try {
          const answer = await sendHttp(`${target.url}/api/webhooks/hi-events/event-status-changed`, 'POST', {
            body: rawBody,
            headers: signStatusWebhook(rawBody, { secret: secrets.webhook }),
          });
          if (answer.status >= 500) throw new Error(`answered ${answer.status}`);
          if (answer.body?.applied === true) totals.applied++;
          else if (answer.body?.reason === 'duplicate') totals.duplicate++;
          else totals.other++;
          return;
        } catch {
          totals.resent++;
          await sleep(50);
        }
      }
      throw new Error(`a webhook for event ${eventId} could not be delivered to either instance`);
    };
    const walk = async (eventId: number) => {
      await sendOne(eventId, 'setup');
      for (let step = 1; step < STEPS_PER_EVENT; step++) {
        await sendOne(eventId, CYCLE[(step - 1) % CYCLE.length]!);
        await sleep(15);
      }
    };
    const load = Promise.all(allEvents.map(walk));

    const total = allEvents.length * STEPS_PER_EVENT;
    await pollUntil('a third of the load to be sent', () => totals.sent >= total / 3, { timeoutMs: 60_000 });
    firstIsGone = true;
    await first.kill();
    const sentAtKill = totals.sent;
    webhooksTowardsFirst = false;
    await load;

    const changes = await readChangeLog(sql);
    const expectedFor = (entry: (typeof plan)[number]) =>
      expectedIds(changes, entry.client.readyIds[0]!, entry.sees);
    await pollUntil(
      'every SSE client to receive the changes it may see',
      () => plan.every((entry) => compareReceived(entry.client, expectedFor(entry)).missing.length === 0),
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    const results = plan.map((entry) => ({
      name: entry.client.name,
      ...compareReceived(entry.client, expectedFor(entry)),
    }));
    const movedClients = plan.slice(0, ANONYMOUS_CLIENTS_ON_FIRST + 2).map((entry) => entry.client);
    const resumedFrom = movedClients.map((client) => client.connections.at(-1)?.lastEventId ?? null);
    const ours = changes.filter((change) => allEvents.includes(change.event_id));
    const webhookIds = ours.map((change) => change.webhook_id);
    printSummary('api instance killed', {
      webhooksSent: totals.sent,
      sentBeforeKill: sentAtKill,
      resentAfterFailure: totals.resent,
      applied: totals.applied,
      answeredDuplicate: totals.duplicate,
      changeLog: ours.length,
      clients: results.length,
      moved: movedClients.filter((client) => client.connections.at(-1)?.baseUrl === second.url).length,
      resumedFromLastEventId: resumedFrom,
      received: results.reduce((sum, result) => sum + result.received, 0),
      missing: results.reduce((sum, result) => sum + result.missing.length, 0),
      duplicates: results.reduce((sum, result) => sum + result.duplicates, 0),
    });

    // Every webhook was applied once: none lost with the instance, none applied again when resent.
    expect(totals.other).toBe(0);
    expect(ours).toHaveLength(total);
    expect(new Set(webhookIds).size).toBe(total);
    expect(totals.applied + totals.duplicate).toBe(total);

    // The killed instance's clients reconnected to the other one and resumed where they were.
    for (const client of movedClients) {
      expect(client.connections.length, client.name).toBeGreaterThanOrEqual(2);
      expect(client.connections.at(-1)!.baseUrl, client.name).toBe(second.url);
      // Anonymous clients resume by public number, the organizer's by change-log id.
      expect(client.connections.at(-1)!.lastEventId, client.name).toMatch(
        client.name === 'first/organizer' ? /^\d+$/ : /^p\d+$/,
      );
    }
    for (const result of results) {
      expect(result, result.name).toMatchObject({
        missing: [],
        duplicates: 0,
        unexpected: [],
        inOrder: true,
      });
    }
    expect(second.isRunning()).toBe(true);
    expect(findSecrets(second.output.join('\n'), { ...secrets })).toEqual([]);
  });
});
