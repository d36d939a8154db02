import { fail, redirect } from '@sveltejs/kit';
import { serverConfig } from '#lib/server/config.ts';
import { safeRedirectPath } from '#lib/server/redirects.ts';
import { startSession } from '#lib/server/session.ts';
import { login } from '#lib/server/tuvens-api.ts';
import type { Actions, PageServerLoad } from './$types';

const DEMO_LOGINS = [
  { email: 'organizer@tuvens.test', role: 'organizer: can enable ticketing' },
  { email: 'member@tuvens.test', role: 'account member: may view, not manage' },
  { email: 'attendee@tuvens.test', role: 'attendee: no account' },
];

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.viewer) redirect(303, safeRedirectPath(url.searchParams.get('redirectTo')));
  return {
    demo: serverConfig.showDemoLogins ? { logins: DEMO_LOGINS, password: 'tuvens-demo' } : undefined,
  };
};

export const actions: Actions = {
  default: async ({ request, cookies, url }) => {
    const form = await request.formData();
    const email = String(form.get('email') ?? '').trim();
    const password = String(form.get('password') ?? '');
    if (!email || !password) {
      return fail(400, { email, message: 'Enter your email address and password.' });
    }
    const result = await login(email, password);
    if (!result.ok) {
      const message =
        result.status === 401 || result.status === 400
          ? 'That email address and password don’t match an account.'
          : result.status === 429
            ? 'Too many attempts. Please wait a minute and try again.'
            : 'Tuvens can’t be reached right now. Please try again in a moment.';
      return fail(result.status === 401 ? 400 : result.status, { email, message });
    }
    startSession(cookies, url, result.data.token);
    redirect(303, safeRedirectPath(url.searchParams.get('redirectTo')));
  },
};
