import type { HiEventsLifecycleStatus } from '@tuvens/contracts';

/**
 * Hi.Events computes an event's lifecycle from its dates on every read and stores nothing
 * (`EventDomainObject::getLifecycleStatus`): ongoing once started and until it ends, upcoming
 * before it starts (or without a start date), ended after.
 */
export function computeLifecycleStatus(
  startDate: Date | null,
  endDate: Date | null,
  now: Date,
): HiEventsLifecycleStatus {
  if (startDate === null || startDate > now) return 'UPCOMING';
  if (endDate === null || endDate > now) return 'ONGOING';
  return 'ENDED';
}

/**
 * The slug of a title as Laravel's `Str::slug` makes it (`EventDomainObject::getSlug`):
 * accents dropped, `@` spelled out, every other run of non-alphanumerics one dash.
 */
export function slugify(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replaceAll('@', '-at-')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
