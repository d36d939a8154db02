import { runOnOwnConnection, testDatabaseKind } from '@tuvens/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.ts';

const CONCURRENT_REQUESTS = 12;

// PostgreSQL only: PGlite has one connection in this process, and its queries are never named
// prepared statements, so no other process can change a table under one.
describe.skipIf(testDatabaseKind === 'pglite')('a migration under a running tuvens-api (postgres)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  /** Signs in and reads an event, many at once, so that the pool's connections each prepare the reads. */
  const readMany = () =>
    Promise.all(
      Array.from({ length: CONCURRENT_REQUESTS }, async (_, index) => {
        const response =
          index % 3 === 0
            ? await api.request('POST', '/api/auth/login', {
                body: { email: 'organizer@tuvens.test', password: 'tuvens-demo' },
              })
            : await api.request('GET', '/api/events/1');
        return response.status;
      }),
    );

  it('keeps answering after another process adds columns to the tables it reads with select *', async () => {
    expect(await readMany()).toEqual(Array(CONCURRENT_REQUESTS).fill(200));

    // Another process migrating, as a newer version starting during a rolling deploy does.
    await runOnOwnConnection(
      api.database.url!,
      'alter table events add column subtitle text',
      'alter table users add column nickname text',
    );

    expect(await readMany()).toEqual(Array(CONCURRENT_REQUESTS).fill(200));
    const organizer = await api.login('organizer@tuvens.test');
    const created = await api.request('POST', '/api/events', {
      headers: { authorization: `Bearer ${organizer}` },
      body: {
        title: 'After the migration',
        starts_at: '2030-01-01T18:00:00Z',
        ends_at: '2030-01-01T20:00:00Z',
        visibility: 'public',
      },
    });
    expect(created.status).toBe(201);
  });
});
