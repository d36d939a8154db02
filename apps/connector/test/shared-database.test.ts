import { apiMigrations, type StartTestApiOptions, startTestApi } from '@tuvens/api/testing';
import { type MigrationSet, migrateToLatest, sql } from '@tuvens/database';
import { migrateAsEarlierVersions, openTestDatabase, testDatabaseKind } from '@tuvens/database/testing';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { connectorMigrations } from '../src/database/migrations/index.ts';
import type { ConnectorDatabase } from '../src/database/schema.ts';
import { startTestStack } from './helpers.ts';

/** The migrations a history table records, in the order they ran. */
async function history(db: Kysely<ConnectorDatabase>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(table)} order by name`.execute(
    db,
  );
  return rows.map((row) => row.name);
}

const namesOf = (set: MigrationSet) => Object.keys(set.migrations);

describe(`tuvens-api and the connector in one database (${testDatabaseKind})`, () => {
  it('upgrades a database the previous version migrated for tuvens-api, and runs the connector beside it', async () => {
    const database = await openTestDatabase<ConnectorDatabase>();
    try {
      // Versions before per-service history tables recorded tuvens-api's migrations in
      // kysely_migration, whose `0001-initial` the connector's migrator then took for its own.
      await migrateAsEarlierVersions(database.db, apiMigrations.migrations);
      await migrateToLatest(database.db, apiMigrations);
      await migrateToLatest(database.db, connectorMigrations);
      expect(await history(database.db, apiMigrations.table)).toEqual(namesOf(apiMigrations));
      expect(await history(database.db, connectorMigrations.table)).toEqual(namesOf(connectorMigrations));

      // Both start on it and work: a sign-in through the connector, its status delivered to tuvens-api.
      // One database under two schema types: each service reads only its own tables.
      const apiDatabase = database as unknown as StartTestApiOptions['database'];
      const api = await startTestApi({ database: apiDatabase });
      const stack = await startTestStack({ api, connector: { database } });
      try {
        const signedIn = await stack.signIn(await stack.generateSessionToken(1));
        expect(signedIn.status).toBe(200);
        expect(await stack.connector.connector.outbox.runOnce()).toBe(1);
        const event = await stack.api.request('GET', '/api/events/1');
        expect(event.body.ticketing_status).toBe('setup');
      } finally {
        await stack.close();
      }

      // A restart of either migrates again and finds nothing to do.
      await migrateToLatest(database.db, apiMigrations);
      await migrateToLatest(database.db, connectorMigrations);
      expect(await history(database.db, connectorMigrations.table)).toEqual(namesOf(connectorMigrations));
    } finally {
      await database.close();
    }
    // Three servers and two sets of migrations on one embedded database: slow on a busy machine.
  }, 90_000);

  it('upgrades a database the previous version migrated for the connector, keeping its rows', async () => {
    const database = await openTestDatabase<ConnectorDatabase>();
    try {
      await migrateAsEarlierVersions(database.db, connectorMigrations.migrations);
      await database.db
        .insertInto('provisioning_claims')
        .values({ resource: 'kept', claim_token: 'token', expires_at: new Date() })
        .execute();
      await migrateToLatest(database.db, connectorMigrations);
      expect(await history(database.db, connectorMigrations.table)).toEqual(namesOf(connectorMigrations));
      const claims = await database.db.selectFrom('provisioning_claims').select('resource').execute();
      expect(claims).toEqual([{ resource: 'kept' }]);
    } finally {
      await database.close();
    }
  });
});
