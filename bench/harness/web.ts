/** The built web app, a stand-in for Hi.Events' widget, and Chromium. */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { waitForHttp } from '@tuvens/testing';
import type { BenchDatabase } from './database.ts';
import { type ApiServer, type NodeChild, startApi, startNodeChild } from './processes.ts';
import { log, ROOT, SECRETS } from './setup.ts';

export const WEB_DIR = join(ROOT, 'apps/web');

/** Whether the web scenarios build the web app first (`--no-build` measures the build already there). */
export const webBuild = { enabled: true, done: false };

/** `npm run build -w @tuvens/web`, once per run, so the figures are of the code as it is. */
export async function buildWebApp(): Promise<void> {
  if (!webBuild.enabled || webBuild.done) return;
  log('building the web app (npm run build -w @tuvens/web)');
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'npm',
      ['run', 'build', '-w', '@tuvens/web'],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  if (!existsSync(join(WEB_DIR, 'build/index.js'))) throw new Error(`the web build is missing:\n${output}`);
  webBuild.done = true;
}

export interface WebServer extends NodeChild {
  readonly url: string;
}

/** The built web app (adapter-node) in its own process, as in production. */
export async function startWebApp(options: {
  port: number;
  apiUrl: string;
  hiEventsUrl: string;
  /** Write a V8 CPU profile of the web server when the run was asked for `--cpu-prof`. */
  profile?: boolean;
  /** More of the web app's settings (`apps/web/src/env.ts`). */
  env?: Record<string, string>;
}): Promise<WebServer> {
  const url = `http://127.0.0.1:${options.port}`;
  const child = startNodeChild(join(WEB_DIR, 'build/index.js'), {
    name: 'web',
    profile: options.profile ?? false,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(options.port),
      ORIGIN: url,
      PUBLIC_API_BASE_URL: options.apiUrl,
      PUBLIC_HI_EVENTS_URL: options.hiEventsUrl,
      PUBLIC_CROSS_APP_URL: options.hiEventsUrl,
      WEB_API_SECRET: SECRETS.webApi,
      ...options.env,
    },
  });
  try {
    await waitForHttp(child, `${url}/`, { accept: (status) => status < 300 });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { ...child, url };
}

/** tuvens-api for the built web app on `webPort`, with `hiEventsUrl` as the Hi.Events site its links go to. */
export function startApiForWebApp(
  database: BenchDatabase,
  webPort: number,
  hiEventsUrl: string,
): Promise<ApiServer> {
  return startApi(database, {
    env: {
      WEB_URL: `http://127.0.0.1:${webPort}`,
      HI_EVENTS_URL: hiEventsUrl,
      HI_EVENTS_PUBLIC_URL: hiEventsUrl,
    },
  });
}

/**
 * A stand-in for Hi.Events' widget page (`/widget/{id}`): a few bytes of HTML that report their
 * height as Hi.Events' widget does, so the ticket widget's active state finishes loading.
 */
export async function startWidgetStub(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const iframeId = new URL(request.url ?? '/', 'http://stub').searchParams.get('iframeId') ?? '';
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><title>Tickets</title><p>Tickets</p><script>parent.postMessage(${JSON.stringify({ type: 'resize', height: 240, iframeId })}, '*')</script>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
