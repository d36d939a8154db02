import { redirect } from '@sveltejs/kit';
import { endSession } from '#lib/server/session.ts';
import { logout } from '#lib/server/tuvens-api.ts';
import type { RequestHandler } from './$types';

// Signing out changes state, so it is a form post (covered by SvelteKit's origin check), never a link.
// tuvens-api ends the token itself, so that a copy of it (from this cookie, a log, a stolen device)
// stops working too; the cookie goes whether or not tuvens-api could be reached.
export const POST: RequestHandler = async ({ cookies, url, locals }) => {
  if (locals.token) await logout(locals.token);
  endSession(cookies, url);
  redirect(303, '/');
};
