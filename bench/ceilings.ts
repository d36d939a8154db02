import { join } from 'node:path';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import { auditRow } from '../apps/api/src/audit/audit-log.ts';
import { findSignedInUser } from '../apps/api/src/auth/authenticate.ts';
import { createManagedSession, validateSession } from '../apps/api/src/cross-app/sessions.ts';
import type { ApiDatabase } from '../apps/api/src/database/schema.ts';
import { applyStatusChange } from '../apps/api/src/ticketing/apply-status-change.ts';
import { ChangeAnnouncer } from '../apps/api/src/ticketing/change-log.ts';
import {
  BENCH_DIR,
  type BenchDatabase,
  type Check,
  cpuMsPerOp,
  createEvents,
  fmt,
  HttpClient,
  type LoadResult,
  measureLoad,
  nextStatus,
  ok,
  queryBenchDatabase,
  type ResourceUse,
  type Row,
  runClosedLoop,
  type Scenario,
  SECRETS,
  scale,
  signedStatusWebhook,
  signInOrganizer,
  startApi,
  startNodeChild,
  summarize,
  type TicketingStatus,
} from './harness/index.ts';
import { SAME_WORK_STATEMENTS } from './same-work-sql.ts';

const HANDSHAKE_CONCURRENCY = 16;
const WEBHOOK_CONCURRENCY = 32;
const EVENTS_PER_WORKER = 8;
const TARGET_FRACTION = 0.6;
const GENERATE_PATH = '/api/cross-app/generate-session';
const VALIDATE_PATH = '/api/cross-app/validate-session';
const WEBHOOK_PATH = '/api/webhooks/hi-events/event-status-changed';

const levels = () =>
  scale.quick
    ? { warmupOps: 300, maxOps: 2_000, maxDurationMs: 4_000 }
    : { warmupOps: 600, maxOps: 20_000, maxDurationMs: 10_000 };

interface Measured {
  load: LoadResult;
  resources: ResourceUse;
}

/** A server under test: tuvens-api or the bare same-work server, both on the bench database. */
interface Target {
  pid: number;
  url: string;
  database: BenchDatabase;
}

/** One handshake: generate-session with the user's JWT, then validate-session with the shared secret. */
async function handshakeOnce(client: HttpClient, jwt: string, eventId: number): Promise<void> {
  const generated = await client.request('POST', GENERATE_PATH, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify({ eventId, appId: 'hi-events' }),
  });
  if (generated.status !== 200) throw new Error(`generate-session ${generated.status}: ${generated.body}`);
  const { session_token } = JSON.parse(generated.body) as { session_token: string };
  const validated = await client.request('POST', VALIDATE_PATH, {
    headers: { 'content-type': 'application/json', 'x-shared-secret': SECRETS.crossApp },
    body: JSON.stringify({ session_token }),
  });
  if (validated.status !== 200) throw new Error(`validate-session ${validated.status}: ${validated.body}`);
  if (!(JSON.parse(validated.body) as { user_data?: unknown }).user_data) throw new Error('no user_data');
}

/** One applied status webhook for an event, walking its status along allowed transitions. */
async function webhookOnce(
  client: HttpClient,
  status: Map<number, TicketingStatus>,
  eventId: number,
): Promise<void> {
  const next = nextStatus(status.get(eventId)!);
  const webhook = signedStatusWebhook(eventId, next);
  const answer = await client.request('POST', WEBHOOK_PATH, { headers: webhook.headers, body: webhook.body });
  if (answer.status !== 200) throw new Error(`webhook ${answer.status}: ${answer.body.slice(0, 200)}`);
  if (!(JSON.parse(answer.body) as { applied?: boolean }).applied)
    throw new Error(`not applied: ${answer.body}`);
  status.set(eventId, next);
}

async function measure(target: Target, concurrency: number, op: (worker: number) => Promise<void>) {
  const { warmupOps, maxOps, maxDurationMs } = levels();
  const warm = await runClosedLoop({ concurrency, maxOps: warmupOps, maxDurationMs: 30_000, op });
  if (warm.failed) throw new Error(`warm-up: ${warm.failed} failed: ${warm.firstError}`);
  const measured = await measureLoad(target, () => runClosedLoop({ concurrency, maxOps, maxDurationMs, op }));
  if (measured.load.failed) {
    throw new Error(`${measured.load.failed} failed at ${concurrency}: ${measured.load.firstError}`);
  }
  return measured;
}

/** The handshake and the webhook, measured on one server; `eventIds` are the webhook's, `EVENTS_PER_WORKER` a worker. */
async function measureBoth(
  target: Target,
  jwt: string,
  handshakeEventId: number,
  eventIds: number[],
  status: Map<number, TicketingStatus>,
): Promise<{ handshake: Measured; webhook: Measured }> {
  const webhookConcurrency = eventIds.length / EVENTS_PER_WORKER;
  const client = new HttpClient(target.url, Math.max(HANDSHAKE_CONCURRENCY, webhookConcurrency));
  try {
    const handshake = await measure(target, HANDSHAKE_CONCURRENCY, () =>
      handshakeOnce(client, jwt, handshakeEventId),
    );
    const turns = new Array<number>(webhookConcurrency).fill(0);
    const webhook = await measure(target, webhookConcurrency, (worker) => {
      const turn = turns[worker]!++;
      return webhookOnce(client, status, eventIds[worker * EVENTS_PER_WORKER + (turn % EVENTS_PER_WORKER)]!);
    });
    return { handshake, webhook };
  } finally {
    client.close();
  }
}

/**
 * What one handshake and one webhook (`none` → `setup` on `eventId`) wrote, with what necessarily
 * differs between two runs (ids, times, tokens, webhook ids) left out and the event's own id taken out
 * of the Hi.Events ids and URL derived from it: equal for two servers that do the same work.
 */
async function effectsOf(
  target: Target,
  jwt: string,
  handshakeEventId: number,
  eventId: number,
): Promise<string> {
  const [{ watermark }] = (await queryBenchDatabase<{ watermark: number }>(
    target.database,
    'select coalesce(max(id), 0)::int as watermark from audit_log',
  )) as [{ watermark: number }];
  const client = new HttpClient(target.url, 1);
  try {
    await handshakeOnce(client, jwt, handshakeEventId);
    await webhookOnce(client, new Map([[eventId, 'none']]), eventId);
  } finally {
    client.close();
  }
  const rows = await queryBenchDatabase<{ effects: unknown }>(
    target.database,
    `select json_build_object(
      'audit', (select json_agg(json_build_object('action', action, 'outcome', outcome, 'actor', actor,
        'actor_user_id', actor_user_id, 'reason', reason, 'same_event', event_id in (${handshakeEventId}, ${eventId}),
        'ip', ip, 'user_agent', user_agent,
        'details', details::jsonb - 'webhookId' - 'occurredAt') order by id) from audit_log where id > ${watermark}),
      'sessions', (select json_agg(json_build_object('userId', "userId", 'accountId', "accountId", 'appId', "appId",
        'event_id', event_id, 'consumed', consumed_at is not null, 'revoked', revoked_at is not null,
        'used', "lastUsed" = consumed_at, 'window_s', round(extract(epoch from "expiresAt" - consumed_at))))
        from "crossAppSession" where "createdAt" = (select max("createdAt") from "crossAppSession")),
      'event', (select json_build_object('status', ticketing_status, 'enabled', ticketing_enabled,
        'hasTicketing', "hasTicketing", 'hi_events_id', hi_events_event_id - id, 'legacy_id', "hiEventsEventId" - id,
        'url', replace(hi_events_event_url, (hi_events_event_id)::text, 'H'),
        'contactData', "contactData"::jsonb - 'hiEventsLastUpdated' - 'hiEventsEventId',
        'in_force_is_occurred', ticketing_updated_at = (select occurred_at from ticketing_status_changes c where c.event_id = e.id order by id desc limit 1))
        from events e where id = ${eventId}),
      'changes', (select json_agg(json_build_object('from', from_status, 'to', to_status, 'hi_events_id', hi_events_event_id - event_id,
        'hi_events_status', hi_events_status, 'source', source, 'has_webhook_id', webhook_id is not null,
        'actor_user_id', actor_user_id, 'reason', reason)) from ticketing_status_changes where event_id = ${eventId}),
      'receipts', (select json_agg(json_build_object('outcome', outcome)) from webhook_receipts where event_id = ${eventId})
    ) as effects`,
  );
  return JSON.stringify(rows[0]?.effects);
}

/** A Kysely driver that records each compiled statement and answers canned rows, so no database is needed. */
function recordingDriver(texts: string[], read: { status: TicketingStatus }): Driver {
  const connection: DatabaseConnection = {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      texts.push(query.sql);
      // The read of a status change finds an unlinked event in `read.status`; the write then finds its row.
      const rows = query.sql.startsWith('select *, exists')
        ? [
            {
              id: 2,
              account_id: 1,
              ticketing_status: read.status,
              ticketing_updated_at: null,
              hi_events_event_id: null,
              contactData: {},
            },
          ]
        : query.sql.includes('ticketing_status_changes')
          ? [{ id: 9 }]
          : [];
      return { rows: rows as R[] };
    },
    async *streamQuery() {},
  };
  return {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => {},
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
}

/** The API's statements as its own functions compile them now, by the names of bench/same-work-sql.ts. */
async function compileApiStatements(): Promise<
  Record<keyof typeof SAME_WORK_STATEMENTS, string | undefined>
> {
  const texts: string[] = [];
  const read = { status: 'setup' as TicketingStatus };
  const db = new Kysely<ApiDatabase>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => recordingDriver(texts, read),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  const now = new Date();
  const policy = { expirySeconds: 900, maxLifetimeSeconds: 43_200 };
  const take = () => texts.splice(0)[0];
  await findSignedInUser(db, 1);
  const signedInUser = take();
  await createManagedSession(db, {
    userId: 1,
    eventId: 2,
    appId: 'hi-events',
    now,
    policy,
    audit: auditRow(now, { action: 'cross_app.session.generate', outcome: 'success', actor: 'user' }),
  });
  const createManaged = take();
  await validateSession(db, 'token', now, policy, {
    action: 'cross_app.session.validate',
    actor: 'connector',
  });
  const validate = take();
  texts.length = 0;
  const change = (status: TicketingStatus) =>
    applyStatusChange(
      db,
      {
        source: 'hi-events',
        webhookId: 'w',
        eventId: 2,
        status,
        occurredAt: now,
        hiEventsEventId: 1,
        hiEventsEventUrl: 'http://h/e',
        hiEventsStatus: 'LIVE',
        reason: 'r',
      },
      now,
    );
  await change('active');
  const [readEvent, apply] = texts.splice(0);
  // A first link, from `none`: whether an organizer enabled ticketing (here no session is found).
  read.status = 'none';
  await change('setup');
  const [, lastChange, sessionIssued] = texts.splice(0);
  const announcer = new ChangeAnnouncer(db, () => {});
  announcer.announce(1);
  await announcer.settled();
  return {
    signedInUser,
    createManagedSession: createManaged,
    validateSession: validate,
    readEventForChange: readEvent,
    lastChangeForLink: lastChange,
    sessionIssuedForLink: sessionIssued,
    applyChange: apply,
    announceChange: take(),
  };
}

function measuredRow(label: string, concurrency: number, measured: Measured, extra?: Row['extra']): Row {
  return {
    label,
    concurrency,
    operations: measured.load.completed,
    failed: measured.load.failed,
    throughputPerS: measured.load.throughputPerS,
    latencyMs: summarize(measured.load.latenciesMs),
    resources: measured.resources,
    extra,
  };
}

const serverMs = (measured: Measured) =>
  cpuMsPerOp(measured.resources.serverCpuPercent, measured.load.throughputPerS) ?? Number.NaN;
const postgresMs = (measured: Measured) =>
  cpuMsPerOp(measured.resources.postgresCpuPercent, measured.load.throughputPerS) ?? Number.NaN;

export const ceilings: Scenario = {
  name: 'ceilings',
  title:
    'Same-work ceilings: the handshake and the webhook vs a bare node:http + pg server doing their SQL and cryptography',
  async run({ database }) {
    if (database.kind !== 'postgres') {
      return {
        status: 'skipped',
        reason: 'the bare server speaks to PostgreSQL only',
        rows: [],
        checks: [],
        notes: [],
      };
    }
    const rows: Row[] = [];
    const notes: string[] = [];
    const checks: Check[] = [];

    // The statements' text: the bare server's copies against what the API compiles now.
    const compiled = await compileApiStatements();
    const drifted = Object.entries(SAME_WORK_STATEMENTS)
      .filter(([name, text]) => compiled[name as keyof typeof compiled] !== text)
      .map(([name]) => name);
    checks.push({
      target: 'the bare server sends the API’s statements, word for word',
      measured: drifted.length
        ? `DRIFTED: ${drifted.join(', ')} (update bench/same-work-sql.ts)`
        : `${Object.keys(SAME_WORK_STATEMENTS).length} of ${Object.keys(SAME_WORK_STATEMENTS).length} equal`,
      pass: drifted.length === 0,
    });

    const workers = scale.quick ? 8 : WEBHOOK_CONCURRENCY;
    const api = await startApi(database);
    let jwt: string;
    let handshakeEventId: number;
    let eventIds: number[];
    let effectEvents: number[];
    const status = new Map<number, TicketingStatus>();
    let ours: { handshake: Measured; webhook: Measured };
    let apiEffects: string;
    try {
      const client = new HttpClient(api.url, 1);
      ({ jwt, eventId: handshakeEventId } = await signInOrganizer(client));
      eventIds = await createEvents(client, jwt, WEBHOOK_CONCURRENCY * EVENTS_PER_WORKER);
      effectEvents = await createEvents(client, jwt, 2);
      client.close();
      for (const id of eventIds) status.set(id, 'none');
      apiEffects = await effectsOf({ ...api, database }, jwt, handshakeEventId, effectEvents[0]!);
      ours = await measureBoth(
        { ...api, database },
        jwt,
        handshakeEventId,
        eventIds.slice(0, workers * EVENTS_PER_WORKER),
        status,
      );
    } finally {
      await api.stop();
    }

    const bare = startNodeChild(join(BENCH_DIR, 'same-work-server.ts'), {
      name: 'same-work',
      profile: true,
      env: {
        DATABASE_URL: database.url!,
        JWT_SECRET: SECRETS.jwt,
        CROSS_APP_SHARED_SECRET: SECRETS.crossApp,
        HI_EVENTS_SHARED_SECRET: SECRETS.hiEvents,
      },
    });
    let theirs: { handshake: Measured; webhook: Measured };
    let bareEffects: string;
    try {
      const { port } = await bare.message(
        (message): message is { type: 'same-work:ready'; port: number } =>
          (message as { type?: string })?.type === 'same-work:ready',
        30_000,
      );
      const target = { pid: bare.pid, url: `http://127.0.0.1:${port}`, database };
      bareEffects = await effectsOf(target, jwt, handshakeEventId, effectEvents[1]!);
      theirs = await measureBoth(
        target,
        jwt,
        handshakeEventId,
        eventIds.slice(0, workers * EVENTS_PER_WORKER),
        status,
      );
    } finally {
      await bare.stop();
    }
    checks.push({
      target: 'the bare server’s effects on the database equal the API’s (one handshake, one webhook)',
      measured:
        apiEffects === bareEffects
          ? `equal (${apiEffects.length} characters of rows compared)`
          : `DIFFER: API ${apiEffects} / bare ${bareEffects}`,
      pass: apiEffects === bareEffects,
    });

    for (const [name, concurrency] of [
      ['handshake', HANDSHAKE_CONCURRENCY],
      ['webhook', workers],
    ] as const) {
      const mine = ours[name];
      const bareRun = theirs[name];
      const fraction = mine.load.throughputPerS / bareRun.load.throughputPerS;
      const cpuMultiple = serverMs(mine) / serverMs(bareRun);
      rows.push(
        measuredRow(`tuvens-api: ${name}`, concurrency, mine, { 'PG CPU ms/op': postgresMs(mine) }),
        measuredRow(`bare node:http + pg: ${name}`, concurrency, bareRun, {
          'PG CPU ms/op': postgresMs(bareRun),
          'tuvens ÷ bare rate': fraction,
          'tuvens ÷ bare server CPU/op': cpuMultiple,
        }),
      );
      checks.push({
        target: `${name}: ≥ ${TARGET_FRACTION}× the same-work ceiling's rate at ${concurrency} concurrent`,
        measured:
          `${fmt(fraction, 2)}× (${fmt(mine.load.throughputPerS, 0)} vs ${fmt(bareRun.load.throughputPerS, 0)}/s); ` +
          `server CPU ${fmt(serverMs(mine), 2)} vs ${fmt(serverMs(bareRun), 2)} ms/op (${fmt(cpuMultiple, 2)}×), ` +
          `PG ${fmt(postgresMs(mine), 2)} vs ${fmt(postgresMs(bareRun), 2)} ms/op`,
        pass: fraction >= TARGET_FRACTION,
      });
    }
    notes.push(
      'The bare server (bench/same-work-server.ts) verifies the JWT (HS256), compares the shared secret, hashes ' +
        'the token (SHA-256), verifies the Standard Webhooks HMAC and sends the API’s own statements (bench/same-work-sql.ts) ' +
        'as named prepared statements on a pool of 10; it has no router, schema validation, rate limiter, metrics, ' +
        'security headers, request logging or error mapping. A handshake is generate-session then validate-session ' +
        `(2 requests, 2 statements); a webhook is 2 statements and a coalesced NOTIFY. Both servers ran one after ` +
        'the other on the same database, each after a warm-up at its concurrency.',
    );
    if (scale.quick) notes.push(`--quick: shorter levels, webhooks at ${workers} concurrent.`);
    return ok(rows, checks, notes);
  },
};
