import { redirect } from '@sveltejs/kit';
import { endSession } from '#lib/server/session.ts';
import type { RequestHandler } from './$types';

// Signing out changes state, so it is a form post (covered by SvelteKit's origin check), never a link.
export const POST: RequestHandler = ({ cookies, url }) => {
  endSession(cookies, url);
  redirect(303, '/');
};
