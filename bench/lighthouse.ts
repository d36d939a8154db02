import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TicketSummary } from '@tuvens/contracts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, HAS_CHROMIUM, NO_CHROMIUM_MESSAGE } from '@tuvens/testing';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse, { desktopConfig, type Result } from 'lighthouse';
import {
  buildWebApp,
  type Check,
  fmt,
  freePort,
  HttpClient,
  log,
  ok,
  RESULTS_DIR,
  type Row,
  type Scenario,
  scale,
  signedStatusWebhook,
  signedTicketSummaryWebhook,
  signInOrganizer,
  startApiForWebApp,
  startWebApp,
  startWidgetStub,
} from './harness/index.ts';

const TARGET_SCORE = 0.98;
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'] as const;
type Category = (typeof CATEGORIES)[number];
const PRESETS = ['mobile', 'desktop'] as const;
type Preset = (typeof PRESETS)[number];

const STATUS_WEBHOOK_PATH = '/api/webhooks/hi-events/event-status-changed';
const SUMMARY_WEBHOOK_PATH = '/api/webhooks/hi-events/ticket-summary-changed';

/** What a buyer would see of a typical event on sale: two ticket types, prices with fees. */
const SUMMARY_ON_SALE: TicketSummary = {
  currency: 'EUR',
  lowest_price: 25,
  highest_price: 40,
  prices_include_taxes_and_fees: true,
  free: false,
  sales_state: 'on_sale',
  opens_at: null,
  few_left: false,
};

/**
 * Runs of each page and preset. Lighthouse's performance score moves by a few hundredths between runs on
 * one machine (more on a busy one), so each figure is the median of these, as Lighthouse advises.
 */
const runsPerPage = () => (scale.quick ? 1 : 3);

interface Audited {
  page: string;
  preset: Preset;
  scores: Record<Category, number | null>;
  consoleErrors: string[];
  /** Audits that cost points, by category: `id (score)`. */
  lost: Record<Category, string[]>;
  /** Lighthouse's measure of the machine's CPU speed during the run (higher is faster). */
  benchmarkIndex: number;
  /** The lowest and highest performance score of the runs combined. */
  performanceRange: [number, number];
}

/** Takes the demo event through setup to active ticketing and gives it a ticket summary on sale. */
async function activateTicketing(api: HttpClient, eventId: number, hiEventsUrl: string): Promise<void> {
  for (const status of ['setup', 'active'] as const) {
    const webhook = signedStatusWebhook(eventId, status, { hiEventsUrl });
    const answer = await api.request('POST', STATUS_WEBHOOK_PATH, webhook);
    if (answer.status !== 200) throw new Error(`status webhook ${status}: ${answer.status} ${answer.body}`);
  }
  const summary = signedTicketSummaryWebhook(eventId, SUMMARY_ON_SALE);
  const answer = await api.request('POST', SUMMARY_WEBHOOK_PATH, summary);
  if (answer.status !== 200 || !answer.body.includes('"applied":true')) {
    throw new Error(`ticket summary webhook: ${answer.status} ${answer.body}`);
  }
}

function readAudit(page: string, preset: Preset, lhr: Result): Audited {
  const scores = {} as Audited['scores'];
  const lost = {} as Audited['lost'];
  for (const category of CATEGORIES) {
    const entry = lhr.categories[category];
    scores[category] = entry?.score ?? null;
    lost[category] = (entry?.auditRefs ?? [])
      .filter((ref) => ref.weight > 0)
      .map((ref) => lhr.audits[ref.id])
      .filter((audit) => audit && audit.score !== null && audit.score < 1)
      .map((audit) => `${audit!.id} (${fmt(audit!.score ?? 0, 2)})`);
  }
  const errors = lhr.audits['errors-in-console']?.details;
  const items =
    errors && 'items' in errors ? (errors.items as { source?: string; description?: string }[]) : [];
  return {
    page,
    preset,
    scores,
    consoleErrors: items.map((item) => `${item.source ?? 'console'}: ${item.description ?? ''}`),
    lost,
    benchmarkIndex: lhr.environment.benchmarkIndex,
    performanceRange: [scores.performance ?? 0, scores.performance ?? 0],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One page and preset over several runs: each category's median score, every console error any run saw,
 * and the audits that cost points in the run of median performance.
 */
function combineRuns(runs: Audited[]): Audited {
  const byPerformance = [...runs].sort((a, b) => (a.scores.performance ?? 0) - (b.scores.performance ?? 0));
  const middle = byPerformance[Math.floor((byPerformance.length - 1) / 2)]!;
  const scores = {} as Audited['scores'];
  for (const category of CATEGORIES) {
    const values = runs.flatMap((run) => (run.scores[category] === null ? [] : [run.scores[category]!]));
    scores[category] = values.length ? median(values) : null;
  }
  return {
    ...middle,
    scores,
    consoleErrors: [...new Set(runs.flatMap((run) => run.consoleErrors))],
    benchmarkIndex: median(runs.map((run) => run.benchmarkIndex)),
    performanceRange: [
      Math.min(...runs.map((run) => run.performanceRange[0])),
      Math.max(...runs.map((run) => run.performanceRange[1])),
    ],
  };
}

/** Lighthouse's navigation run of each page, in one Chromium, with the mobile and desktop presets. */
async function auditPages(pages: { label: string; url: string }[]): Promise<Audited[]> {
  // chrome-launcher runs the Debian Chromium the tests use, with their flags; nothing is downloaded.
  const chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM_PATH,
    chromeFlags: CHROMIUM_ARGS,
    logLevel: 'silent',
  });
  const audited: Audited[] = [];
  try {
    for (const preset of PRESETS) {
      for (const page of pages) {
        const runs: Audited[] = [];
        for (let run = 1; run <= runsPerPage(); run++) {
          log(`lighthouse: ${page.label}, ${preset}, run ${run} of ${runsPerPage()}`);
          const result = await lighthouse(
            page.url,
            { port: chrome.port, logLevel: 'error', output: 'json', onlyCategories: [...CATEGORIES] },
            preset === 'desktop' ? desktopConfig : undefined,
          );
          if (!result) throw new Error(`Lighthouse returned nothing for ${page.url}`);
          if (result.lhr.runtimeError) {
            throw new Error(`Lighthouse on ${page.url}: ${result.lhr.runtimeError.message}`);
          }
          const file = `lighthouse-${page.label.replace(/\W+/g, '-')}-${preset}-${run}.json`;
          writeFileSync(join(RESULTS_DIR, file), JSON.stringify(result.lhr));
          runs.push(readAudit(page.label, preset, result.lhr));
        }
        audited.push(combineRuns(runs));
      }
    }
  } finally {
    chrome.kill();
  }
  return audited;
}

export const lighthouseScenario: Scenario = {
  name: 'lighthouse',
  title: `Lighthouse: performance, accessibility, best practices and SEO of the public pages (target ≥ ${TARGET_SCORE})`,
  timeoutMs: 10 * 60_000,
  async run({ database }) {
    if (!HAS_CHROMIUM)
      return { status: 'skipped', reason: NO_CHROMIUM_MESSAGE, rows: [], checks: [], notes: [] };
    await buildWebApp();
    const stub = await startWidgetStub();
    const webPort = await freePort();
    const api = await startApiForWebApp(database, webPort, stub.url);
    let audited: Audited[];
    try {
      const client = new HttpClient(api.url, 1);
      let eventId: number;
      try {
        ({ eventId } = await signInOrganizer(client));
        await activateTicketing(client, eventId, stub.url);
      } finally {
        client.close();
      }
      const web = await startWebApp({ port: webPort, apiUrl: api.url, hiEventsUrl: stub.url });
      try {
        audited = await auditPages([
          { label: 'event page', url: `${web.url}/event/${eventId}` },
          { label: 'events list', url: `${web.url}/` },
          { label: 'sign-in page', url: `${web.url}/login` },
        ]);
      } finally {
        await web.stop();
      }
    } finally {
      await api.stop();
      await stub.close();
    }

    const score = (value: number | null) => (value === null ? '–' : fmt(value, 2));
    const rows: Row[] = audited.map((entry) => ({
      label: `${entry.page} (${entry.preset})`,
      extra: {
        performance: score(entry.scores.performance),
        accessibility: score(entry.scores.accessibility),
        'best practices': score(entry.scores['best-practices']),
        SEO: score(entry.scores.seo),
        'performance, each run': entry.performanceRange.map((value) => score(value)).join('–'),
        'console errors': String(entry.consoleErrors.length),
        'CPU benchmark index': String(Math.round(entry.benchmarkIndex)),
      },
    }));
    const checks: Check[] = PRESETS.map((preset) => {
      const runs = audited.filter((entry) => entry.preset === preset);
      const below = runs.flatMap((entry) =>
        CATEGORIES.filter((category) => (entry.scores[category] ?? 0) < TARGET_SCORE).map(
          (category) => `${entry.page} ${category} ${score(entry.scores[category])}`,
        ),
      );
      const lowest = Math.min(...runs.flatMap((entry) => CATEGORIES.map((c) => entry.scores[c] ?? 0)));
      return {
        target: `every category ≥ ${TARGET_SCORE} on every page (${preset})`,
        measured: below.length ? `below: ${below.join(', ')}` : `lowest ${score(lowest)}`,
        pass: below.length === 0,
      };
    });
    const consoleErrors = audited.flatMap((entry) =>
      entry.consoleErrors.map((error) => `${entry.page} (${entry.preset}): ${error}`),
    );
    checks.push({
      target: 'no console error on any page',
      measured: `${consoleErrors.length} errors`,
      pass: consoleErrors.length === 0,
    });
    const notes = [
      ...consoleErrors.map((error) => `Console error on ${error}`),
      ...audited.flatMap((entry) =>
        CATEGORIES.filter((category) => entry.lost[category].length).map(
          (category) =>
            `${entry.page} (${entry.preset}), ${category} lost points on: ${entry.lost[category].join(', ')}`,
        ),
      ),
      `Scores are the median of ${runsPerPage()} runs per page and preset (Lighthouse's simulated throttling: a mid-range phone on slow 4G, or a desktop on cable). ` +
        'The CPU benchmark index is Lighthouse’s own measure of the machine during the runs: a busy machine scores lower, and its performance scores with it.',
      'Each run’s full report: bench/results/lighthouse-<page>-<preset>-<run>.json (open it in the Lighthouse viewer).',
    ];
    return ok(rows, checks, notes);
  },
};
