import type { Migration } from '@tuvens/database';
import * as initial from './0001-initial.ts';
import * as ticketingChanges from './0002-ticketing-changes.ts';

/** Every migration of tuvens-api, in order; names sort in the order they run. */
export const apiMigrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-ticketing-changes': ticketingChanges,
};
