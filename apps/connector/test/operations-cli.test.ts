import { apiMigrations } from '@tuvens/api/testing';
import { openDatabase } from '@tuvens/database';
import { openTestEnvironment, testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type ConnectorDb, openConnectorDatabase } from '../src/database/database.ts';
import { connectorMigrations } from '../src/database/migrations/index.ts';
import { runConnectorCommand } from '../src/operations/cli.ts';
import { countMessages, enqueueStatusChange, markDead, markDelivered } from '../src/outbox/outbox.ts';

/** `npm run ops -- connector …` against a database of its own, as an operator runs it against the connector's. */
describe(`operator commands for the connector (${testDatabaseKind})`, () => {
  let env: Record<string, string>;
  let dropDatabase = async () => {};

  /** Opens the commands' database the way they do; PGlite allows one at a time, so each use closes it. */
  async function withDatabase<T>(use: (database: ConnectorDb) => Promise<T>): Promise<T> {
    const database = await openConnectorDatabase(loadConfig(env));
    try {
      return await use(database);
    } finally {
      await database.close();
    }
  }

  /** Queues a status change for an event and lets it fail for good, as a 4xx from tuvens-api would. */
  const deadLetter = (tuvensEventId: number) =>
    withDatabase(async ({ db }) => {
      const now = new Date();
      const message = await enqueueStatusChange(
        db,
        {
          tuvensEventId,
          status: 'setup',
          hiEventsEventId: 7,
          hiEventsEventUrl: 'https://tickets.example/event/7/x',
          hiEventsStatus: 'DRAFT',
          reason: 'linked',
          occurredAt: now,
        },
        now,
      );
      await markDead(db, message.id, now, { error: 'HTTP 404: no Tuvens event', statusCode: 404 });
      return message.id;
    });

  beforeAll(async () => {
    const environment = await openTestEnvironment(connectorMigrations, 'CONNECTOR_DATA_DIR');
    env = environment.env;
    dropDatabase = environment.close;
    expect(await runConnectorCommand(['migrate'], env)).toBe('connector: the schema is up to date');
  });
  afterAll(() => dropDatabase());

  it('lists the dead letters and puts named ones, or all, back in the queue', async () => {
    const [first, second, third] = [await deadLetter(11), await deadLetter(12), await deadLetter(13)];

    const listed = (await runConnectorCommand(['dead-letters'], env)).split('\n');
    expect(listed[0]).toBe('Outbox: 0 pending, 0 delivered, 3 dead.');
    expect(listed.slice(1).map((line) => line.split('  ')[0])).toEqual([
      `#${third}`,
      `#${second}`,
      `#${first}`,
    ]);
    expect(listed[1]).toContain('event 13');
    expect(listed[1]).toContain('HTTP 404');

    expect(await runConnectorCommand(['replay', String(second), '999999'], env)).toBe(
      'Put 1 of 2 dead letter(s) back in the queue.',
    );
    expect(await runConnectorCommand(['replay', '--all'], env)).toBe(
      'Put 2 of 2 dead letter(s) back in the queue.',
    );
    expect(await withDatabase(({ db }) => countMessages(db))).toMatchObject({ pending: 3, dead: 0 });
  });

  it('says plainly what is wrong with a command', async () => {
    await expect(runConnectorCommand(['purge'], env)).rejects.toThrow(/^Unknown command "purge"/);
    await expect(runConnectorCommand(['replay'], env)).rejects.toThrow(
      'Name the dead letters to replay by id, or pass --all',
    );
    await expect(runConnectorCommand(['replay', 'seven'], env)).rejects.toThrow(
      'Name the dead letters to replay by id, or pass --all',
    );
  });

  it('cleans up now, deleting delivered messages past OUTBOX_RETENTION_DAYS', async () => {
    await withDatabase(async ({ db }) => {
      const longAgo = new Date(Date.now() - 31 * 24 * 60 * 60 * 1000);
      const message = await enqueueStatusChange(
        db,
        {
          tuvensEventId: 14,
          status: 'setup',
          hiEventsEventId: 7,
          hiEventsEventUrl: 'https://tickets.example/event/7/x',
          hiEventsStatus: 'DRAFT',
          reason: 'linked',
          occurredAt: longAgo,
        },
        longAgo,
      );
      await markDelivered(db, message.id, longAgo, 200);
    });
    expect(await runConnectorCommand(['cleanup'], env)).toBe(
      'Deleted 0 session(s), 0 lapsed claim(s), 0 webhook receipt(s) and 1 delivered message(s).',
    );
    expect(await withDatabase(({ db }) => countMessages(db))).toMatchObject({ delivered: 0, dead: 0 });
  });

  it('keeps working once tuvens-api has migrated into the same database or data folder', async () => {
    // The same DATABASE_URL for both services, as `npm start` passes it through, or one PGlite folder.
    const shared = await openDatabase({
      url: env.DATABASE_URL,
      dataDir: env.CONNECTOR_DATA_DIR,
      migrations: apiMigrations,
    });
    await shared.close();
    expect(await runConnectorCommand(['migrate'], env)).toBe('connector: the schema is up to date');
    expect(await runConnectorCommand(['dead-letters'], env)).toMatch(/^Outbox: 3 pending/);
  });
});
