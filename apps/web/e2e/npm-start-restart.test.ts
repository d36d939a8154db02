import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, launchChromium, type ServiceProcess, startProcess } from '@tuvens/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, HAS_CHROMIUM, WEB_DIR } from './stack.ts';

/**
 * `npm start` twice on the same data folder, as a person does from one day to the next: the event
 * linked in the first run can be managed in the second, because every part, the Hi.Events emulator
 * included, kept what it knew.
 */
describe.skipIf(!HAS_CHROMIUM)('npm start, stopped and started again', () => {
  const REPO_ROOT = join(WEB_DIR, '../..');
  const dataDir = mkdtempSync(join(tmpdir(), 'tuvens-npm-start-'));
  const urls: Record<'WEB_URL' | 'PUBLIC_API_BASE_URL' | 'CONNECTOR_PUBLIC_URL' | 'HI_EVENTS_URL', string> = {
    WEB_URL: '',
    PUBLIC_API_BASE_URL: '',
    CONNECTOR_PUBLIC_URL: '',
    HI_EVENTS_URL: '',
  };
  let system: ServiceProcess | undefined;
  let browser: Browser;
  let firstHiEventsPage = '';

  async function startSystem(): Promise<void> {
    system = startProcess({
      name: 'npm start',
      script: join(REPO_ROOT, 'scripts/start.ts'),
      cwd: REPO_ROOT,
      env: { ...urls, TUVENS_DATA_DIR: dataDir },
    });
    const running = system;
    await eventually(
      () => {
        if (!running.isRunning()) {
          throw new Error(`npm start ended (${running.exitStatus()}):\n${running.lastOutput()}`);
        }
        return running.output.some((line) => line.includes('Press Ctrl-C to stop.'));
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'npm start to say where to open it' },
    );
  }

  async function signInAndOpenEvent(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${urls.WEB_URL}/login?redirectTo=${encodeURIComponent('/event/1')}`);
    await page.getByLabel('Email address').fill(DEMO.organizer);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${urls.WEB_URL}/event/1`);
    return page;
  }

  /** Follows the organizer's one click to Hi.Events; answers the page it lands on. */
  async function goToHiEvents(page: Page, name: RegExp): Promise<string> {
    await page.getByRole('button', { name }).or(page.getByRole('link', { name })).click();
    await page.waitForURL(new RegExp(`^${urls.HI_EVENTS_URL}/manage/event/\\d+/products`), {
      timeout: 20_000,
    });
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Summer Concert in the Park');
    return new URL(page.url()).pathname;
  }

  beforeAll(async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    (Object.keys(urls) as (keyof typeof urls)[]).forEach((name, index) => {
      urls[name] = `http://127.0.0.1:${ports[index]}`;
    });
    browser = await launchChromium();
    await startSystem();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the first run links the demo event and signs the organizer in at Hi.Events', async () => {
    const page = await signInAndOpenEvent();
    firstHiEventsPage = await goToHiEvents(page, /^Enable ticketing$/);
  }, 120_000);

  it('after a restart of everything, “Manage tickets” signs the organizer in to the same Hi.Events event', async () => {
    await system?.stop();
    await startSystem();

    const page = await signInAndOpenEvent();
    expect(await goToHiEvents(page, /^Manage tickets on Hi\.Events$/)).toBe(firstHiEventsPage);
  }, 240_000);
});
