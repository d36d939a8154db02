import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BENCH_DIR,
  buildWebApp,
  type Check,
  cpuMsPerOp,
  fmt,
  freePort,
  HttpClient,
  type LoadResult,
  measureLoad,
  type NodeChild,
  ok,
  processCpuMs,
  profiling,
  RESULTS_DIR,
  type ResourceUse,
  type Row,
  runClosedLoop,
  type Scenario,
  scale,
  signInOrganizer,
  sleep,
  startApi,
  startNodeChild,
  startWebApp,
  startWidgetStub,
  summarize,
} from './harness/index.ts';

const CONCURRENCY = 64;

interface WebVariant {
  label: string;
  env: Record<string, string>;
}

const WEB_VARIANTS: readonly WebVariant[] = [
  { label: 'tuvens web (SSR + tuvens-api)', env: {} },
  { label: 'tuvens web, every page drawn (PAGE_CACHE_MAX_AGE_MS=0)', env: { PAGE_CACHE_MAX_AGE_MS: '0' } },
];
const TARGET_FRACTION = 0.3;
const level = () =>
  scale.quick
    ? { warmupOps: 300, maxOps: 3_000, maxDurationMs: 4_000 }
    : { warmupOps: 1_000, maxOps: 40_000, maxDurationMs: 12_000 };

interface Measured {
  load: LoadResult;
  resources: ResourceUse;
  /** CPU of tuvens-api during the level, in ms (0 for the ceiling, which calls nothing). */
  apiCpuMs: number;
}

/** Anonymous page loads at `CONCURRENCY`, after a warm-up at the same concurrency. */
async function loadPages(
  server: { pid: number; url: string },
  path: string,
  meterDatabase: Parameters<typeof measureLoad>[0]['database'],
  apiPid: number | undefined,
  expectBody: string,
): Promise<Measured> {
  const client = new HttpClient(server.url, CONCURRENCY);
  try {
    const op = async () => {
      const answer = await client.request('GET', path, { headers: { accept: 'text/html' } });
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.body.slice(0, 200)}`);
      if (!answer.body.includes(expectBody)) throw new Error(`${path}: the page lacks "${expectBody}"`);
    };
    const { warmupOps, maxOps, maxDurationMs } = level();
    await runClosedLoop({ concurrency: CONCURRENCY, maxOps: warmupOps, maxDurationMs: 30_000, op });
    const api0 = apiPid === undefined ? 0 : processCpuMs(apiPid);
    const { load, resources } = await measureLoad({ pid: server.pid, database: meterDatabase }, () =>
      runClosedLoop({ concurrency: CONCURRENCY, maxOps, maxDurationMs, op }),
    );
    if (load.failed) throw new Error(`${load.failed} page loads failed: ${load.firstError}`);
    return { load, resources, apiCpuMs: apiPid === undefined ? 0 : processCpuMs(apiPid) - api0 };
  } finally {
    client.close();
  }
}

function pageRow(label: string, measured: Measured, extra: Row['extra'] = {}): Row {
  const { load, resources } = measured;
  return {
    label,
    concurrency: CONCURRENCY,
    operations: load.completed,
    failed: load.failed,
    throughputPerS: load.throughputPerS,
    latencyMs: summarize(load.latenciesMs),
    resources,
    extra,
  };
}

export const pageViews: Scenario = {
  name: 'page-views',
  title: `Event page views: anonymous GET /event/:id (SSR + tuvens-api) at ${CONCURRENCY} concurrent, vs its HTML from bare node:http`,
  async run({ database }) {
    await buildWebApp();
    const rows: Row[] = [];
    const notes: string[] = [];
    const stub = await startWidgetStub();
    const webPort = await freePort();
    const api = await startApi(database, {
      env: { WEB_URL: `http://127.0.0.1:${webPort}`, HI_EVENTS_URL: stub.url },
    });
    const closers: (() => Promise<void>)[] = [() => api.stop(), () => stub.close()];
    const measuredWeb = new Map<WebVariant, Measured>();
    let html: string | undefined;
    let path: string;
    let title: string;
    try {
      const apiClient = new HttpClient(api.url, 1);
      const { eventId } = await signInOrganizer(apiClient);
      const event = await apiClient.json<{ title: string; visibility: string }>(
        'GET',
        `/api/events/${eventId}`,
        undefined,
      );
      apiClient.close();
      if (event.visibility !== 'public') throw new Error(`event ${eventId} is not public`);
      title = event.title;
      path = `/event/${eventId}`;

      // The web app as deployed, then with every page drawn for its request (as a signed-in viewer's
      // always is): what the page cache saves, and what drawing a page costs.
      for (const variant of WEB_VARIANTS) {
        const web = await startWebApp({
          port: webPort,
          apiUrl: api.url,
          hiEventsUrl: stub.url,
          profile: true,
          env: variant.env,
        });
        try {
          const probe = new HttpClient(web.url, 1);
          const first = await probe.request('GET', path, { headers: { accept: 'text/html' } });
          probe.close();
          if (first.status !== 200) throw new Error(`${path}: ${first.status} ${first.body.slice(0, 300)}`);
          html ??= first.body;
          const measured = await loadPages(web, path, database, api.pid, title);
          measuredWeb.set(variant, measured);
          const pages = measured.load.completed;
          rows.push(
            pageRow(variant.label, measured, {
              'HTML KiB': Buffer.byteLength(first.body) / 1024,
              'API CPU ms/page': measured.apiCpuMs / pages,
              'API CPU %': (measured.apiCpuMs / measured.load.elapsedMs) * 100,
              'PG CPU ms/page':
                cpuMsPerOp(measured.resources.postgresCpuPercent, measured.load.throughputPerS) ?? 0,
            }),
          );
        } finally {
          // With open connections to tuvens-api the web server outlives SIGTERM until it is killed, and a
          // killed process writes no CPU profile: it is told to exit instead.
          if (profiling.enabled) {
            web.send({ type: 'probe:exit' });
            await Promise.race([web.exited, sleep(5_000)]);
          }
          await web.stop();
        }
      }
      writeFileSync(join(RESULTS_DIR, 'page-views-event.html'), html ?? '');
    } finally {
      for (const close of closers) await close().catch(() => {});
    }

    // ── the ceiling: the same page's final HTML from a bare node:http server
    const pageFile = join(RESULTS_DIR, 'page-views-event.html');
    const bare: NodeChild = startNodeChild(join(BENCH_DIR, 'static-page-server.ts'), {
      name: 'static-page',
      env: { PAGE_FILE: pageFile, PAGE_CONTENT_TYPE: 'text/html' },
      profile: true,
    });
    let ceiling: Measured;
    try {
      const { port } = await bare.message(
        (message): message is { type: 'static:ready'; port: number } =>
          (message as { type?: string })?.type === 'static:ready',
        30_000,
      );
      ceiling = await loadPages(
        { pid: bare.pid, url: `http://127.0.0.1:${port}` },
        path,
        undefined,
        undefined,
        title,
      );
      rows.push(pageRow('bare node:http, the same HTML', ceiling));
    } finally {
      await bare.stop();
    }

    const figures = (measured: Measured) => {
      const { load, resources } = measured;
      const fraction = load.throughputPerS / ceiling.load.throughputPerS;
      const webMs = cpuMsPerOp(resources.serverCpuPercent, load.throughputPerS) ?? 0;
      const pgMs = cpuMsPerOp(resources.postgresCpuPercent, load.throughputPerS) ?? 0;
      return {
        fraction,
        text:
          `${fmt(fraction, 2)}× (${fmt(load.throughputPerS, 0)} vs ${fmt(ceiling.load.throughputPerS, 0)} pages/s); ` +
          `CPU ms/page web ${fmt(webMs, 2)} + API ${fmt(measured.apiCpuMs / load.completed, 2)} + PG ${fmt(pgMs, 2)}`,
      };
    };
    const [deployed, drawn] = WEB_VARIANTS.map((variant) => figures(measuredWeb.get(variant)!)) as [
      ReturnType<typeof figures>,
      ReturnType<typeof figures>,
    ];
    const bareMs = cpuMsPerOp(ceiling.resources.serverCpuPercent, ceiling.load.throughputPerS) ?? 0;
    const checks: Check[] = [
      {
        target: `≥ ${TARGET_FRACTION}× the bare node:http ceiling's pages/s at ${CONCURRENCY} concurrent`,
        measured: `${deployed.text} vs bare ${fmt(bareMs, 3)}; every page drawn: ${drawn.text}`,
        pass: deployed.fraction >= TARGET_FRACTION,
      },
    ];
    notes.push(
      `Each page: the web server (SvelteKit, adapter-node) renders /event/:id, which reads the event from tuvens-api ` +
        "(GET /api/events/:id over loopback HTTP, one indexed read in PostgreSQL). An anonymous visitor's page is " +
        "then served again until tuvens-api's change stream says the event changed (at most PAGE_CACHE_MAX_AGE_MS); " +
        'the second row draws every page, as for a signed-in viewer. CPU ms/page is per page served, ' +
        'for each process. The ceiling writes the same bytes from memory; the load generator is the same ' +
        `keep-alive client at ${CONCURRENCY} concurrent. With --cpu-prof the web server's (one per row) and the ` +
        "ceiling's profiles follow, by package and function.",
    );
    if (scale.quick) notes.push('--quick: shorter levels than the full run.');
    return ok(rows, checks, notes);
  },
};
