import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Response } from 'playwright-core';
import {
  BENCH_DIR,
  buildWebApp,
  type Check,
  fmt,
  freePort,
  HttpClient,
  launchChromium,
  ok,
  type Row,
  type Scenario,
  signInOrganizer,
  startApi,
  startWebApp,
  startWidgetStub,
  WEB_DIR,
} from './harness/index.ts';

const TARGET_PAGE_KIB = 60;
const TARGET_WIDGET_KIB = 8;
/** Level 9, as adapter-node precompresses its assets. */
const GZIP_LEVEL = 9;
const WIDGET_ENTRY = 'src/lib/components/ticketing/TicketingWidget.svelte';

const kib = (bytes: number) => bytes / 1024;
const gzipBytes = (data: Uint8Array | string) => gzipSync(data, { level: GZIP_LEVEL }).length;

interface Script {
  file: string;
  bytes: number;
  gzipBytes: number;
  transferredBytes: number;
  encoding: string;
}

/** Every script the event page loads in Chromium, as the browser received it. */
async function scriptsOfEventPage(webUrl: string, eventId: number): Promise<Script[]> {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    const responses: Response[] = [];
    page.on('response', (response) => {
      const type = response.headers()['content-type'] ?? '';
      if (response.request().resourceType() === 'script' || type.includes('javascript'))
        responses.push(response);
    });
    await page.goto(`${webUrl}/event/${eventId}`, { waitUntil: 'networkidle' });
    await page.waitForSelector('section.ticketing[data-status]', { timeout: 10_000 });
    // Anything loaded lazily after the first render counts too.
    await page.waitForTimeout(1_000);
    const scripts: Script[] = [];
    for (const response of responses) {
      const body = await response.body();
      const sizes = await response.request().sizes();
      scripts.push({
        file: basename(new URL(response.url()).pathname),
        bytes: body.length,
        gzipBytes: gzipBytes(body),
        transferredBytes: sizes.responseBodySize,
        encoding: response.headers()['content-encoding'] ?? 'identity',
      });
    }
    return scripts.sort((a, b) => b.gzipBytes - a.gzipBytes);
  } finally {
    await browser.close();
  }
}

/**
 * The widget's own JavaScript: TicketingWidget.svelte and everything it imports (its frame, the live
 * updates store, the status cache), compiled and minified as the app build does, with the Svelte
 * runtime left out because every page of the app loads it anyway.
 */
async function bundleWidget(): Promise<{ bytes: number; gzipBytes: number; modules: string[] }> {
  const { build } = await import('vite');
  const { svelte } = await import('@sveltejs/vite-plugin-svelte');
  const outDir = mkdtempSync(join(tmpdir(), 'tuvens-widget-'));
  try {
    const result = await build({
      root: WEB_DIR,
      configFile: false,
      // The web app's own tsconfig extends one that `svelte-kit sync` generates; the TypeScript
      // transform needs no more than the repository's base options.
      tsconfig: join(BENCH_DIR, 'tsconfig.json'),
      logLevel: 'silent',
      plugins: [svelte({ compilerOptions: { css: 'external' } })],
      build: {
        outDir,
        write: false,
        minify: true,
        lib: { entry: join(WEB_DIR, WIDGET_ENTRY), formats: ['es'], fileName: 'widget' },
        rollupOptions: { external: (id: string) => id === 'svelte' || id.startsWith('svelte/') },
      },
    });
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((entry) =>
      'output' in entry ? entry.output : [],
    );
    const code = outputs.flatMap((chunk) => (chunk.type === 'chunk' ? [chunk] : []));
    const joined = code.map((chunk) => chunk.code).join('\n');
    const modules = [
      ...new Set(
        // `?svelte&type=style` modules are the components' CSS, which goes to a stylesheet.
        code.flatMap((chunk) =>
          Object.keys(chunk.modules)
            .filter((id) => !id.includes('?'))
            .map((id) => id.replace(`${WEB_DIR}/`, '')),
        ),
      ),
    ];
    return { bytes: Buffer.byteLength(joined), gzipBytes: gzipBytes(joined), modules };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export const pageWeight: Scenario = {
  name: 'page-weight',
  title: 'Page weight: the gzipped JavaScript of the event page, and the widget’s own share',
  async run({ database }) {
    await buildWebApp();
    const stub = await startWidgetStub();
    const webPort = await freePort();
    const api = await startApi(database, { env: { WEB_URL: `http://127.0.0.1:${webPort}` } });
    const client = new HttpClient(api.url, 1);
    let scripts: Script[];
    try {
      const { eventId } = await signInOrganizer(client);
      const web = await startWebApp({ port: webPort, apiUrl: api.url, hiEventsUrl: stub.url });
      try {
        scripts = await scriptsOfEventPage(web.url, eventId);
      } finally {
        await web.stop();
      }
    } finally {
      client.close();
      await api.stop();
      await stub.close();
    }
    const widget = await bundleWidget();

    const total = scripts.reduce(
      (sum, script) => ({
        bytes: sum.bytes + script.bytes,
        gzip: sum.gzip + script.gzipBytes,
        transferred: sum.transferred + script.transferredBytes,
      }),
      { bytes: 0, gzip: 0, transferred: 0 },
    );
    const encodings = [...new Set(scripts.map((script) => script.encoding))].join(', ');
    const rows: Row[] = [
      {
        label: 'event page: all JavaScript',
        operations: scripts.length,
        extra: {
          'KiB gzip -9': kib(total.gzip),
          'KiB minified': kib(total.bytes),
          [`KiB as sent (${encodings})`]: kib(total.transferred),
        },
      },
      {
        label: 'widget + its store (own code)',
        operations: widget.modules.length,
        extra: {
          'KiB gzip -9': kib(widget.gzipBytes),
          'KiB minified': kib(widget.bytes),
          'share of the page': `${fmt((widget.gzipBytes / total.gzip) * 100, 0)} %`,
        },
      },
    ];
    const checks: Check[] = [
      {
        target: `event page JavaScript ≤ ${TARGET_PAGE_KIB} KiB gzipped`,
        measured: `${fmt(kib(total.gzip), 1)} KiB in ${scripts.length} files`,
        pass: kib(total.gzip) <= TARGET_PAGE_KIB,
      },
      {
        target: `widget and its store ≤ ${TARGET_WIDGET_KIB} KiB gzipped`,
        measured: `${fmt(kib(widget.gzipBytes), 1)} KiB`,
        pass: kib(widget.gzipBytes) <= TARGET_WIDGET_KIB,
      },
    ];
    const notes = [
      `Scripts the event page loaded in Chromium (gzip -9 KiB each): ${scripts
        .map((script) => `${script.file} ${fmt(kib(script.gzipBytes), 1)}`)
        .join(', ')}.`,
      `The widget's share is its own code bundled alone (minified, Svelte runtime excluded, CSS not counted): ${widget.modules.join(', ')}.`,
    ];
    return ok(rows, checks, notes);
  },
};
