import { fail, redirect } from '@sveltejs/kit';
import { createEvent } from '#lib/server/tuvens-api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  if (!locals.viewer) redirect(303, `/login?redirectTo=${encodeURIComponent(url.pathname)}`);
  return { canCreate: locals.viewer.accounts.some((account) => account.role !== 'member') };
};

/** A `datetime-local` value has no offset; the browser adds the reader's, without JavaScript it is UTC. */
function toIsoTime(value: string): string | undefined {
  const withOffset = /(Z|[+-]\d\d:\d\d)$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(withOffset);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

type Field = 'title' | 'starts_at' | 'ends_at';

interface CreateEventFailure {
  values: Record<Field, string>;
  errors: Partial<Record<Field, string>>;
  message?: string;
}

export const actions: Actions = {
  default: async ({ request, locals, url }) => {
    if (!locals.token) redirect(303, `/login?redirectTo=${encodeURIComponent(url.pathname)}`);
    const form = await request.formData();
    const values = {
      title: String(form.get('title') ?? '').trim(),
      starts_at: String(form.get('starts_at') ?? ''),
      ends_at: String(form.get('ends_at') ?? ''),
    };
    const errors: CreateEventFailure['errors'] = {};
    const startsAt = toIsoTime(values.starts_at);
    const endsAt = toIsoTime(values.ends_at);
    if (!values.title) errors.title = 'Give the event a title.';
    else if (values.title.length > 200) errors.title = 'Keep the title to 200 characters or fewer.';
    if (!startsAt) errors.starts_at = 'Choose when the event starts.';
    if (!endsAt) errors.ends_at = 'Choose when the event ends.';
    else if (startsAt && Date.parse(endsAt) <= Date.parse(startsAt))
      errors.ends_at = 'The end must be after the start.';
    if (Object.keys(errors).length > 0 || !startsAt || !endsAt)
      return fail<CreateEventFailure>(400, { values, errors });

    const created = await createEvent(locals.token, {
      title: values.title,
      starts_at: startsAt,
      ends_at: endsAt,
    });
    if (!created.ok) {
      const message =
        created.status === 403
          ? 'Only owners and admins of an account can create events.'
          : created.status === 400
            ? created.message
            : 'Tuvens can’t be reached right now. Please try again in a moment.';
      return fail<CreateEventFailure>(created.status, { values, errors, message });
    }
    redirect(303, `/event/${created.data.id}`);
  },
};
