import { error } from '@sveltejs/kit';
import { listEvents } from '#lib/server/tuvens-api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  const events = await listEvents(locals.token);
  if (!events.ok) error(503, 'The events could not be loaded. Please try again in a moment.');
  const upcomingFirst = events.data.value.toSorted(
    (a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at),
  );
  return { events: upcomingFirst, changesSeen: events.data.changesSeen };
};
