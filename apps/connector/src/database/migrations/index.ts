import type { Migration } from '@tuvens/database';
import * as initial from './0001-initial.ts';

/** Every migration of the connector, in order; names sort in the order they run. */
export const connectorMigrations: Record<string, Migration> = {
  '0001-initial': initial,
};
