import { openTestEnvironment, testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit-log.ts';
import { loadConfig } from '../src/config.ts';
import { createSession } from '../src/cross-app/sessions.ts';
import { type ApiDb, openApiDatabase } from '../src/database/database.ts';
import { apiMigrations } from '../src/database/migrations/index.ts';
import { DEMO_LOGINS, seedDemoData } from '../src/demo/demo-data.ts';
import { runApiCommand } from '../src/operations/cli.ts';

const ORGANIZER = DEMO_LOGINS[0].email;

/** `npm run ops -- api …` against a database of its own, as an operator runs it against the API's. */
describe(`operator commands for tuvens-api (${testDatabaseKind})`, () => {
  let env: Record<string, string>;
  let dropDatabase = async () => {};

  /** Opens the commands' database the way they do; PGlite allows one at a time, so each use closes it. */
  async function withDatabase<T>(use: (database: ApiDb) => Promise<T>): Promise<T> {
    const database = await openApiDatabase(loadConfig(env));
    try {
      return await use(database);
    } finally {
      await database.close();
    }
  }

  beforeAll(async () => {
    const environment = await openTestEnvironment(apiMigrations, 'API_DATA_DIR');
    env = environment.env;
    dropDatabase = environment.close;
    expect(await runApiCommand(['migrate'], env)).toBe('tuvens-api: the schema is up to date');
    await withDatabase((database) => seedDemoData(database.db, new Date()));
  });
  afterAll(() => dropDatabase());

  it('revokes every live cross-app session of a user, records it, and shows it in the audit', async () => {
    await withDatabase(async ({ db }) => {
      const event = await db
        .selectFrom('events')
        .innerJoin('account_members', 'account_members.account_id', 'events.account_id')
        .innerJoin('users', 'users.id', 'account_members.user_id')
        .select(['events.id', 'events.account_id', 'users.id as user_id'])
        .where('users.email', '=', ORGANIZER)
        .executeTakeFirstOrThrow();
      const policy = { expirySeconds: 900, maxLifetimeSeconds: 43_200 };
      for (let n = 0; n < 2; n++) {
        await createSession(db, {
          userId: event.user_id,
          accountId: event.account_id,
          eventId: event.id,
          appId: 'hi-events',
          now: new Date(),
          policy,
        });
      }
    });

    expect(await runApiCommand(['revoke-sessions', '--user', ORGANIZER], env)).toBe(
      `Revoked 2 live cross-app session(s) of ${ORGANIZER}.`,
    );
    expect(await runApiCommand(['revoke-sessions', '--user', ORGANIZER], env)).toBe(
      `Revoked 0 live cross-app session(s) of ${ORGANIZER}.`,
    );
    const live = await withDatabase(({ db }) =>
      db.selectFrom('crossAppSession').select('id').where('revoked_at', 'is', null).execute(),
    );
    expect(live).toEqual([]);

    const audit = (await runApiCommand(['audit', '--user', ORGANIZER], env)).split('\n');
    expect(audit).toHaveLength(2);
    expect(audit.every((line) => /^\S+Z {2}ops\.revoke_sessions +success {2}/.test(line))).toBe(true);
  });

  it('deletes what the cleanup would, on demand: audit entries past AUDIT_LOG_RETENTION_DAYS too', async () => {
    const longAgo = new Date(Date.now() - 181 * 24 * 60 * 60 * 1000);
    await withDatabase(({ db }) =>
      recordAudit(db, longAgo, { action: 'test.long_ago', outcome: 'success', actor: 'system' }),
    );
    expect(await runApiCommand(['cleanup'], env)).toBe(
      'Deleted 0 session(s), 0 webhook receipt(s) and 1 audit entries.',
    );
  });

  it('says plainly what is wrong with a command, and touches nothing', async () => {
    await expect(runApiCommand(['drop-everything'], env)).rejects.toThrow(
      /^Unknown command "drop-everything"/,
    );
    await expect(runApiCommand(['revoke-sessions'], env)).rejects.toThrow('Name the user: --user EMAIL');
    await expect(runApiCommand(['audit', '--user', 'nobody@tuvens.test'], env)).rejects.toThrow(
      'No user nobody@tuvens.test',
    );
    await expect(runApiCommand(['audit', '--event', 'first'], env)).rejects.toThrow(
      '--event must be a whole number',
    );
    await expect(runApiCommand(['audit', '--limit', '0'], env)).rejects.toThrow(
      '--limit must be a whole number',
    );
    expect(await runApiCommand(['audit', '--event', '999999'], env)).toBe('No audit entries match.');
  });
});
