import { testDatabaseKind } from '@tuvens/database/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cookiesOf, LogCapture, startTestStack, type TestStack } from './helpers.ts';

/**
 * The connector against an emulator as strict as a real, unmodified Hi.Events: invited members
 * refused, jwt-auth's zero leeway, releases before 1.7 without the event webhook types.
 */
describe(`the connector against a real Hi.Events (${testDatabaseKind})`, () => {
  const stacks: TestStack[] = [];
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stack.close();
  });
  const start = async (options: Parameters<typeof startTestStack>[0] = {}) => {
    const stack = await startTestStack(options);
    stacks.push(stack);
    return stack;
  };

  /** Makes the demo account's member an admin of it on Tuvens, so that they manage its ticketing. */
  const promoteMember = async (stack: TestStack) => {
    const member = await stack.api.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'member@tuvens.test')
      .executeTakeFirstOrThrow();
    await stack.api.database.db
      .updateTable('account_members')
      .set({ role: 'admin' })
      .where('user_id', '=', member.id)
      .execute();
    return stack.api.login('member@tuvens.test');
  };

  /** What a person does in Hi.Events after sign-in: read the event and add a ticket type, with the cookie. */
  const actInHiEvents = async (stack: TestStack, token: string, eventId: number) => {
    const headers = {
      cookie: `token=${token}`,
      accept: 'application/json',
      'content-type': 'application/json',
    };
    const read = await fetch(`${stack.emulator.url}/api/events/${eventId}`, { headers });
    const product = await fetch(`${stack.emulator.url}/api/events/${eventId}/products`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        title: 'General admission',
        type: 'FREE',
        product_type: 'TICKET',
        product_category_id: eventId,
        prices: [{ price: 0 }],
      }),
    });
    return { read: read.status, product: product.status };
  };

  const signInAs = async (stack: TestStack, jwt: string, eventId = 1) => {
    const response = await stack.signIn(await stack.generateSessionToken(eventId, jwt), eventId);
    return { response, token: cookiesOf(response.headers).token?.value };
  };

  it('lets two managers of one Tuvens account both sign in and act in Hi.Events, each as an active member', async () => {
    const stack = await start();
    const owner = await signInAs(stack, stack.organizer);
    expect(owner.response.status).toBe(200);
    const admin = await signInAs(stack, await promoteMember(stack));
    expect(admin.response.status).toBe(200);

    const eventId = owner.response.body.hi_events_event_id as number;
    expect(admin.response.body.hi_events_event_id).toBe(eventId);
    expect(await actInHiEvents(stack, owner.token!, eventId)).toEqual({ read: 200, product: 201 });
    expect(await actInHiEvents(stack, admin.token!, eventId)).toEqual({ read: 200, product: 201 });

    const adminUser = stack.emulator.store.findUserByEmail('member@tuvens.test')!;
    const accountId = stack.emulator.store.accountUsers.find(
      (row) => row.user_id === adminUser.id,
    )!.account_id;
    expect(stack.emulator.store.membership(adminUser.id, accountId)).toMatchObject({
      status: 'ACTIVE',
      role: 'ADMIN',
    });
  });

  it('refuses a later manager whose email already belongs to a Hi.Events user, and changes nothing of that user', async () => {
    const stack = await start();
    expect((await signInAs(stack, stack.organizer)).response.status).toBe(200);
    // Someone registered in Hi.Events on their own with the email the next Tuvens manager has.
    const registered = await fetch(`${stack.emulator.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        first_name: 'Mallory',
        last_name: 'Elsewhere',
        email: 'member@tuvens.test',
        password: 'their-own-password',
        password_confirmation: 'their-own-password',
      }),
    });
    expect(registered.status).toBe(201);
    const store = stack.emulator.store;
    const existing = store.findUserByEmail('member@tuvens.test')!;
    const before = {
      user: structuredClone(existing),
      accounts: store.accountsOf(existing.id).map((account) => account.id),
      ownMembership: structuredClone(store.accountUsers.find((row) => row.user_id === existing.id)),
    };

    const refused = await signInAs(stack, await promoteMember(stack));
    expect(refused.response.status).toBe(409);
    expect(refused.response.body.error.code).toBe('hi_events_email_in_use');
    expect(refused.token).toBeUndefined();

    expect(store.users.get(existing.id)).toEqual(before.user);
    const own = store.accountUsers.find(
      (row) => row.account_id === before.ownMembership!.account_id && row.user_id === existing.id,
    );
    expect(own).toEqual(before.ownMembership);
    // The membership Hi.Events added them by is closed, so its emailed invitation cannot be accepted.
    const added = store.accountUsers.filter(
      (row) => row.user_id === existing.id && !before.accounts.includes(row.account_id),
    );
    expect(added.map((row) => row.status)).toEqual(['INACTIVE']);
    const mapped = await stack.connector.database.db
      .selectFrom('external_user_mappings')
      .selectAll()
      .where('hi_events_user_id', '=', existing.id)
      .execute();
    expect(mapped).toEqual([]);
  });

  it('explains, instead of calling Hi.Events unreachable, a first manager whose email is a Hi.Events user owning no account', async () => {
    const stack = await start();
    // Elsewhere in Hi.Events, someone invited the organizer's email into their own account.
    const call = (path: string, body: unknown, token?: string) =>
      fetch(`${stack.emulator.url}/api${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const other = await call('/auth/register', {
      first_name: 'Oscar',
      email: 'oscar@example.test',
      password: 'long-password',
      password_confirmation: 'long-password',
    });
    const invited = await call(
      '/users',
      { first_name: 'Olivia', email: 'organizer@tuvens.test', role: 'ORGANIZER' },
      other.headers.get('x-auth-token')!,
    );
    expect(invited.status).toBe(201);

    const refused = await signInAs(stack, stack.organizer);
    expect(refused.response.status).toBe(409);
    expect(refused.response.body.error.code).toBe('hi_events_email_in_use');
    expect(refused.response.body.error.message).toMatch(/already has a user with your email/);
    expect(refused.token).toBeUndefined();
  });

  for (const skewMs of [30_000, -30_000]) {
    it(`signs in and makes every call with the connector’s clock ${skewMs > 0 ? 'ahead of' : 'behind'} Hi.Events’ by 30 s`, async () => {
      const stack = await start({ connector: { clock: () => new Date(Date.now() + skewMs) } });
      const owner = await signInAs(stack, stack.organizer);
      expect(owner.response.status).toBe(200);
      const admin = await signInAs(stack, await promoteMember(stack));
      expect(admin.response.status).toBe(200);
      const eventId = owner.response.body.hi_events_event_id as number;
      expect(await actInHiEvents(stack, owner.token!, eventId)).toEqual({ read: 200, product: 201 });
      expect(await actInHiEvents(stack, admin.token!, eventId)).toEqual({ read: 200, product: 201 });
      const link = await stack.connector.database.db
        .selectFrom('event_links')
        .selectAll()
        .executeTakeFirstOrThrow();
      expect(link.webhook_id).not.toBeNull();
      const reconciled = await stack.connector.connector.reconciler.runOnce();
      expect(reconciled.failed).toBe(0);
    });
  }

  it('against a Hi.Events before 1.7: sign-in works, the status arrives by the reconciler, the refusal is logged once', async () => {
    const logs = new LogCapture();
    const stack = await start({
      emulatorEnv: { EMULATOR_HI_EVENTS_VERSION: '1.6.0' },
      connector: { logger: logs.logger('info'), env: { RECONCILE_INTERVAL_S: '0' } },
    });
    const owner = await signInAs(stack, stack.organizer);
    expect(owner.response.status).toBe(200);
    expect((await signInAs(stack, stack.organizer, 2)).response.status).toBe(200);
    const eventId = owner.response.body.hi_events_event_id as number;
    expect(stack.emulator.store.webhooks.size).toBe(0);

    const publish = await fetch(`${stack.emulator.url}/api/events/${eventId}/status`, {
      method: 'PUT',
      headers: {
        cookie: `token=${owner.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ status: 'LIVE' }),
    });
    expect(publish.status).toBe(200);
    await stack.connector.connector.reconciler.runOnce();
    await stack.connector.connector.reconciler.runOnce();
    while ((await stack.connector.connector.outbox.runOnce()) > 0);
    const event = await stack.api.database.db
      .selectFrom('events')
      .select('ticketing_status')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(event.ticketing_status).toBe('active');
    expect(logs.lines.filter((line) => line.includes('older than v1.7.0-beta'))).toHaveLength(1);
  });

  it('signs a demoted manager, and one whose Tuvens session was revoked, out of Hi.Events within the check interval', async () => {
    const stack = await start({ connector: { env: { CONNECTOR_SESSION_CHECK_INTERVAL_S: '1' } } });
    const owner = await signInAs(stack, stack.organizer);
    const admin = await signInAs(stack, await promoteMember(stack));
    const eventId = owner.response.body.hi_events_event_id as number;
    expect((await actInHiEvents(stack, admin.token!, eventId)).read).toBe(200);

    // Tuvens demotes the admin to a member: they may view, no longer manage.
    await stack.api.database.db
      .updateTable('account_members')
      .set({ role: 'member' })
      .where('user_id', '=', await memberId(stack))
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const first = await stack.connector.connector.sessionGuard.runOnce();
    expect(first).toMatchObject({ checked: 2, ended: 1 });
    expect((await actInHiEvents(stack, admin.token!, eventId)).read).toBe(401);
    expect((await actInHiEvents(stack, owner.token!, eventId)).read).toBe(200);

    // Tuvens revokes the owner's cross-app sessions (as `npm run ops -- revoke-sessions` does).
    await stack.api.database.db.updateTable('crossAppSession').set({ revoked_at: new Date() }).execute();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await stack.connector.connector.sessionGuard.runOnce()).toMatchObject({ checked: 1, ended: 1 });
    expect((await actInHiEvents(stack, owner.token!, eventId)).read).toBe(401);
    const live = await stack.connector.database.db
      .selectFrom('connector_sessions')
      .select('id')
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toEqual([]);
  });
  it('checks a session again when it is used after the interval, and ends it there if Tuvens demoted the person', async () => {
    const stack = await start({ connector: { env: { CONNECTOR_SESSION_CHECK_INTERVAL_S: '1' } } });
    await signInAs(stack, stack.organizer);
    const admin = await signInAs(stack, await promoteMember(stack));
    const sessionCookie = Object.entries(cookiesOf(admin.response.headers))
      .filter(([name]) => name.includes('connector_session'))
      .map(([name, cookie]) => `${name}=${cookie.value}`)[0]!;
    const session = () =>
      stack.connector.request('GET', '/auth/session', { headers: { cookie: sessionCookie } });
    expect((await session()).status).toBe(200);

    await stack.api.database.db
      .updateTable('account_members')
      .set({ role: 'member' })
      .where('user_id', '=', await memberId(stack))
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await session()).status).toBe(401);
    const eventId = admin.response.body.hi_events_event_id as number;
    expect((await actInHiEvents(stack, admin.token!, eventId)).read).toBe(401);
  });
});

async function memberId(stack: TestStack): Promise<number> {
  const member = await stack.api.database.db
    .selectFrom('users')
    .select('id')
    .where('email', '=', 'member@tuvens.test')
    .executeTakeFirstOrThrow();
  return member.id;
}
