import { describe, expect, it } from 'vitest';
import { computeLifecycleStatus, slugify } from './lifecycle.ts';

describe('an event’s lifecycle, computed from its dates as Hi.Events does', () => {
  const start = new Date('2026-06-01T18:00:00Z');
  const end = new Date('2026-06-01T22:00:00Z');

  it('is upcoming before it starts, ongoing until it ends, and ended after', () => {
    expect(computeLifecycleStatus(start, end, new Date('2026-06-01T17:59:59Z'))).toBe('UPCOMING');
    expect(computeLifecycleStatus(start, end, start)).toBe('ONGOING');
    expect(computeLifecycleStatus(start, end, new Date('2026-06-01T21:59:59Z'))).toBe('ONGOING');
    expect(computeLifecycleStatus(start, end, end)).toBe('ENDED');
  });

  it('is ongoing for good once started when it has no end, and upcoming without a start', () => {
    expect(computeLifecycleStatus(start, null, new Date('2030-01-01T00:00:00Z'))).toBe('ONGOING');
    expect(computeLifecycleStatus(null, null, new Date())).toBe('UPCOMING');
  });
});

describe('slugs as Laravel’s Str::slug makes them', () => {
  it('lowercases, drops accents and joins words with single dashes', () => {
    expect(slugify('Summer Concert in the Park')).toBe('summer-concert-in-the-park');
    expect(slugify('  Café  Crème — Night! ')).toBe('cafe-creme-night');
    expect(slugify('Meet @ the Hub')).toBe('meet-at-the-hub');
  });
});
