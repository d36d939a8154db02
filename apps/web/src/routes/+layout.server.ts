import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => {
  const viewer = locals.viewer;
  return {
    viewer: viewer && {
      name: viewer.user.name,
      email: viewer.user.email,
      /** Owners and admins of an account may create its events. */
      canCreateEvents: viewer.accounts.some((account) => account.role !== 'member'),
    },
  };
};
