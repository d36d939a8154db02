import { error, fail, redirect } from '@sveltejs/kit';
import { serverConfig } from '#lib/server/config.ts';
import { checkCrossAppStart, crossAppStartUrl, markCrossAppStart } from '#lib/server/cross-app.ts';
import { getEvent, turnOffTicketing } from '#lib/server/tuvens-api.ts';
import { crossAppFailureOf, parseCrossAppFailure } from '#lib/services/crossAppAuth.ts';
import type { Actions, PageServerLoad } from './$types';

function eventIdOf(param: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(param) ? Number(param) : Number.NaN;
  if (!(id <= 2_147_483_647)) error(404, 'There is no such event.');
  return id;
}

// The event is read with the viewer's JWT, so `can_manage_ticketing` is theirs.
export const load: PageServerLoad = async ({ params, locals, url }) => {
  const result = await getEvent(eventIdOf(params.id), locals.token);
  if (result.ok) {
    return {
      event: result.data.value,
      changesSeen: result.data.changesSeen,
      // Why `/cross-app/authorize` sent the person back here, if it did.
      ticketingFailure: parseCrossAppFailure(url.searchParams.get('ticketing')),
    };
  }
  if (result.status === 404) error(404, 'There is no such event, or it is private.');
  error(503, 'The event could not be loaded. Please try again in a moment.');
};

export const actions: Actions = {
  /**
   * "Enable ticketing": checks that the hand-over can start, marks that this browser started it
   * here, and sends it to the connector, which binds the sign-in to it
   * (docs/architecture.md#sign-in-flow, step 1). A same-origin form post, so no other site can start it.
   */
  enableTicketing: async ({ params, locals, cookies, url }) => {
    const eventId = eventIdOf(params.id);
    const check = await checkCrossAppStart(locals.token, eventId);
    if (!check.ok) {
      return fail(check.status, { enableFailure: crossAppFailureOf(check.status, check.code) });
    }
    markCrossAppStart(cookies, url, eventId);
    redirect(303, crossAppStartUrl(eventId), {
      external: [new URL(serverConfig.crossAppUrl).origin],
    });
  },

  /** "Turn ticketing off": the event goes back to no ticketing; the page is drawn again from its new data. */
  turnOffTicketing: async ({ params, locals }) => {
    const eventId = eventIdOf(params.id);
    if (!locals.token) return fail(401, { turnOffFailure: 'Sign in again to turn ticketing off.' });
    const result = await turnOffTicketing(locals.token, eventId);
    if (result.ok) return { turnedOff: true };
    const turnOffFailure =
      result.status === 401
        ? 'Sign in again to turn ticketing off.'
        : result.status === 403 || result.status === 404
          ? 'Only an owner or admin of this event’s account can turn its ticketing off.'
          : 'Tuvens can’t be reached right now. Please try again in a moment.';
    return fail(result.status, { turnOffFailure });
  },
};
