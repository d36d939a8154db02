import type { TicketingSnapshot } from '#lib/apis/hievents/extendedEventTypes.ts';

/**
 * Each event's last known ticketing, kept a short while in localStorage so that a revisit (in any tab)
 * shows it at once; fresher page data or a live update replaces it.
 */
export const STATUS_CACHE_TTL_MS = 60_000;

const STATUSES = new Set(['none', 'setup', 'active', 'inactive']);

interface CacheEntry extends TicketingSnapshot {
  cachedAt: number;
}

const keyOf = (eventId: number) => `tuvens:ticketing:${eventId}`;

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    // Storage can be switched off; the widget then simply does without a cache.
    return undefined;
  }
}

export function readCachedStatus(eventId: number, now = Date.now()): TicketingSnapshot | undefined {
  try {
    const entry = JSON.parse(storage()?.getItem(keyOf(eventId)) ?? 'null') as CacheEntry | null;
    if (
      !entry ||
      !STATUSES.has(entry.status) ||
      !(entry.cachedAt <= now && now - entry.cachedAt < STATUS_CACHE_TTL_MS)
    ) {
      return undefined;
    }
    const { cachedAt: _, ...snapshot } = entry;
    return snapshot;
  } catch {
    return undefined;
  }
}

export function writeCachedStatus(eventId: number, snapshot: TicketingSnapshot, now = Date.now()): void {
  try {
    storage()?.setItem(keyOf(eventId), JSON.stringify({ ...snapshot, cachedAt: now } satisfies CacheEntry));
  } catch {}
}
