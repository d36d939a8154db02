/** Waiting for a condition, and printing what a test counted. */

import { setTimeout as sleep } from 'node:timers/promises';

/** Thrown by a check to stop `pollUntil` at once: waiting longer cannot help (a process died). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/** Polls `check` until it answers something truthy; fails naming `what` after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Prints one line of what a test did and counted, so that a run shows its evidence. */
export function printSummary(title: string, counts: Record<string, unknown>): void {
  const fields = Object.entries(counts)
    .map(([name, value]) => `${name}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  console.log(`[reliability] ${title}: ${fields}`);
}
