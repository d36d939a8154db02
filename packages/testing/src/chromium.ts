import { accessSync, constants } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * The one place that names the browser. Tests, browser helpers and benchmarks launch Debian's
 * Chromium through playwright-core; `CHROMIUM_PATH` points elsewhere, and a path with no browser
 * (`CHROMIUM_PATH=/nonexistent`) is the "no browser" case, in which browser tests are skipped.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const HAS_CHROMIUM = isExecutable(CHROMIUM_PATH);

/** The line printed once when browser tests are skipped. */
export const NO_CHROMIUM_MESSAGE =
  `Browser tests skipped: no Chromium at ${CHROMIUM_PATH}. ` +
  'Install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to its executable to run them.';

/**
 * Flags for a headless Chromium in a sandboxless container with a closed network: without the
 * background-networking flags it keeps trying to reach Google's hosts.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  if (!HAS_CHROMIUM) throw new Error(NO_CHROMIUM_MESSAGE);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
