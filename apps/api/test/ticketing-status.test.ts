import { checkTransition, type HiEventsEventStatus, type TicketingStatus } from '@tuvens/contracts';
import { testDatabaseKind } from '@tuvens/database/testing';
import { createManualClock } from '@tuvens/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/database/schema.ts';
import { findEvent } from '../src/events/events.ts';
import { applyStatusChange, type StatusChange } from '../src/ticketing/apply-status-change.ts';
import { deleteOldReceipts, WEBHOOK_RECEIPT_RETENTION_MS } from '../src/webhooks/receipts.ts';
import {
  newTicketingEvent,
  sendStatusWebhook,
  startTestApi,
  statusWebhook,
  type TestApi,
} from './helpers.ts';

const MINUTE_MS = 60_000;
const STATUSES: TicketingStatus[] = ['none', 'setup', 'active', 'inactive'];
/** Webhook statuses that bring a new event to each status. */
const PATH_TO: Record<TicketingStatus, TicketingStatus[]> = {
  none: [],
  setup: ['setup'],
  active: ['setup', 'active'],
  inactive: ['setup', 'active', 'inactive'],
};

describe(`ticketing status changes (${testDatabaseKind})`, () => {
  let api: TestApi;
  let organizer: string;
  let member: string;
  let attendee: string;
  // Moved on by a few milliseconds per change, so that the order of changes is the test's to decide.
  const { clock, advance } = createManualClock();

  beforeAll(async () => {
    api = await startTestApi({ clock });
    [organizer, member, attendee] = await Promise.all([
      api.login('organizer@tuvens.test'),
      api.login('member@tuvens.test'),
      api.login('attendee@tuvens.test'),
    ]);
  });
  afterAll(() => api.close());

  const newEvent = (visibility: 'public' | 'private' = 'public') =>
    newTicketingEvent(api.database.db, { visibility, now: clock() });
  const eventRow = async (eventId: number) => (await findEvent(api.database.db, eventId))!;
  const changesOf = (eventId: number) =>
    api.database.db
      .selectFrom('ticketing_status_changes')
      .selectAll()
      .where('event_id', '=', eventId)
      .orderBy('id')
      .execute();
  const auditOf = (eventId: number) =>
    api.database.db
      .selectFrom('audit_log')
      .select(['action', 'outcome', 'reason', 'actor', 'actor_user_id'])
      .where('event_id', '=', eventId)
      .orderBy('id')
      .execute();
  /** Sends a webhook of a change that happened `minutesFromNow` (negative: in the past). */
  const deliver = (eventId: number, status: TicketingStatus, minutesFromNow = 0) => {
    advance(10);
    return sendStatusWebhook(
      api,
      statusWebhook(
        { tuvens_event_id: eventId, status },
        { occurredAt: new Date(clock().getTime() + minutesFromNow * MINUTE_MS) },
      ),
    );
  };

  describe('the state machine', () => {
    const cases = STATUSES.flatMap((from) =>
      STATUSES.map((to) => ({ from, to, check: checkTransition(from, to) })),
    );

    it.each(cases)('$from → $to over the webhook', async ({ from, to, check }) => {
      const eventId = await newEvent();
      for (const status of PATH_TO[from]) expect((await deliver(eventId, status)).status).toBe(200);

      const response = await deliver(eventId, to);
      if (!check.ok) {
        expect(response.status).toBe(409);
        expect(response.body.error.code).toBe('transition_not_allowed');
        expect((await eventRow(eventId)).ticketing_status).toBe(from);
      } else if (check.changed) {
        expect(response.body).toEqual({ applied: true, status: to });
        expect((await changesOf(eventId)).at(-1)).toMatchObject({ from_status: from, to_status: to });
      } else {
        expect(response.body).toEqual({ applied: false, status: from, reason: 'unchanged' });
      }
      expect(await changesOf(eventId)).toHaveLength(
        PATH_TO[from].length + (check.ok && check.changed ? 1 : 0),
      );
    });
  });

  describe('idempotency and ordering', () => {
    it('applies a redelivered webhook once, answering the repeats as duplicates', async () => {
      const eventId = await newEvent();
      const payload = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() });
      const answers = [];
      for (let attempt = 0; attempt < 3; attempt++)
        answers.push((await sendStatusWebhook(api, payload)).body);
      expect(answers).toEqual([
        { applied: true, status: 'setup' },
        { applied: false, status: 'setup', reason: 'duplicate' },
        { applied: false, status: 'setup', reason: 'duplicate' },
      ]);
      expect(await changesOf(eventId)).toHaveLength(1);
      const receipts = await api.database.db
        .selectFrom('webhook_receipts')
        .selectAll()
        .where('id', '=', payload.id)
        .execute();
      expect(receipts).toEqual([expect.objectContaining({ event_id: eventId, outcome: 'applied' })]);
    });

    it('answers a redelivery as a duplicate even after the status has moved on', async () => {
      const eventId = await newEvent();
      const at = clock();
      const setup = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: at });
      await sendStatusWebhook(api, setup);
      await sendStatusWebhook(
        api,
        statusWebhook({ tuvens_event_id: eventId, status: 'active' }, { occurredAt: at }),
      );
      const redelivered = await sendStatusWebhook(api, setup);
      expect(redelivered.body).toEqual({ applied: false, status: 'active', reason: 'duplicate' });
    });

    it('applies concurrent deliveries of one webhook once', async () => {
      const eventId = await newEvent();
      const payload = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() });
      const answers = await Promise.all(Array.from({ length: 8 }, () => sendStatusWebhook(api, payload)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
      expect(answers.filter((answer) => answer.body.applied)).toHaveLength(1);
      expect(await changesOf(eventId)).toHaveLength(1);
      expect(answers.filter((answer) => !answer.body.applied).map((answer) => answer.body.reason)).toEqual(
        Array(7).fill('duplicate'),
      );
    });

    it('keeps an event’s change log a chain when different changes to it arrive at once', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup', -61);
      await deliver(eventId, 'active', -60);
      // active and inactive may follow each other in any order, so every answer is a 200.
      const statuses = [
        'inactive',
        'active',
        'inactive',
        'active',
        'inactive',
        'active',
        'inactive',
        'active',
      ];
      const answers = await Promise.all(
        statuses.map((status, index) => deliver(eventId, status as 'active' | 'inactive', -50 + index)),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(statuses.length).fill(200));

      const changes = await changesOf(eventId);
      for (const [index, change] of changes.entries()) {
        expect(change.from_status).toBe(index === 0 ? 'none' : changes[index - 1]!.to_status);
      }
      const applied = answers.filter((answer) => answer.body.applied).length;
      expect(changes).toHaveLength(2 + applied);
      expect((await eventRow(eventId)).ticketing_status).toBe(changes.at(-1)!.to_status);
    });

    it('applies one webhook id once even when it arrives for two events at the same moment', async () => {
      const [first, second] = [await newEvent(), await newEvent()];
      const id = `whmsg_reused_${first}`;
      const answers = await Promise.all(
        [first, second].map((eventId) =>
          sendStatusWebhook(
            api,
            statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { id, occurredAt: clock() }),
          ),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      expect(answers.map((answer) => answer.body.reason ?? 'applied').sort()).toEqual([
        'applied',
        'duplicate',
      ]);
      expect([...(await changesOf(first)), ...(await changesOf(second))]).toHaveLength(1);
    });

    it('acknowledges an update older than the one in force without applying it', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup', -1);
      const older = await deliver(eventId, 'none', -2);
      expect(older.body).toEqual({ applied: false, status: 'setup', reason: 'stale' });
      expect((await eventRow(eventId)).ticketing_status).toBe('setup');
    });

    it('ends in the newer state when a late copy of an older status arrives', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup', -4);
      await deliver(eventId, 'active', -3);
      await deliver(eventId, 'inactive', -2);
      const late = await deliver(eventId, 'active', -3);
      expect(late.body).toEqual({ applied: false, status: 'inactive', reason: 'stale' });
      expect((await eventRow(eventId)).ticketing_status).toBe('inactive');
    });

    it('ends in the newer state when a confirmation overtakes an older change', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup', -4);
      await deliver(eventId, 'active', -3);
      // Hi.Events went inactive at -2 and active again at -1; the update of -1 arrives first.
      expect((await deliver(eventId, 'active', -1)).body.reason).toBe('unchanged');
      expect((await deliver(eventId, 'inactive', -2)).body.reason).toBe('stale');
      expect((await eventRow(eventId)).ticketing_status).toBe('active');
    });

    it('deletes receipts older than the cutoff, and a redelivery after that is still not applied twice', async () => {
      const eventId = await newEvent();
      const payload = statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() });
      await sendStatusWebhook(api, payload);
      const keptBefore = await deleteOldReceipts(
        api.database.db,
        new Date(clock().getTime() - WEBHOOK_RECEIPT_RETENTION_MS),
      );
      expect(keptBefore).toBe(0);

      const deleted = await deleteOldReceipts(api.database.db, new Date(clock().getTime() + MINUTE_MS));
      expect(deleted).toBeGreaterThan(0);
      const redelivered = await sendStatusWebhook(api, payload);
      expect(redelivered.body).toEqual({ applied: false, status: 'setup', reason: 'unchanged' });
      expect(await changesOf(eventId)).toHaveLength(1);
    });
  });

  describe('the event’s ticketing fields', () => {
    it('records the change, the receipt and an audit row with every applied change', async () => {
      const eventId = await newEvent();
      const payload = statusWebhook(
        { tuvens_event_id: eventId, status: 'setup', hi_events_event_id: 31, reason: 'linked' },
        { occurredAt: clock() },
      );
      await sendStatusWebhook(api, payload);
      expect(await changesOf(eventId)).toEqual([
        expect.objectContaining({
          from_status: 'none',
          to_status: 'setup',
          hi_events_event_id: 31,
          hi_events_event_url: 'https://tickets.example/event/31/summer-concert',
          hi_events_status: 'DRAFT',
          source: 'hi-events',
          webhook_id: payload.id,
          reason: 'linked',
        }),
      ]);
      expect(await auditOf(eventId)).toEqual([
        {
          action: 'ticketing.status_change',
          outcome: 'success',
          reason: null,
          actor: 'hi-events',
          actor_user_id: null,
        },
      ]);
    });

    it('keeps every legacy and contactData field consistent after each change', async () => {
      const Step = fc.oneof(
        fc.record({
          source: fc.constant('hi-events' as const),
          status: fc.constantFrom(...STATUSES),
          hiEventsEventId: fc.option(fc.integer({ min: 1, max: 9_999 }), { nil: null }),
          hiEventsStatus: fc.option(fc.constantFrom<HiEventsEventStatus>('DRAFT', 'LIVE', 'ARCHIVED'), {
            nil: null,
          }),
        }),
        fc.record({ source: fc.constant('organizer' as const), status: fc.constant('none' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(Step, { minLength: 1, maxLength: 8 }), async (steps) => {
          const eventId = await newEvent();
          await api.database.db
            .updateTable('events')
            .set({ contactData: JSON.stringify({ email: 'box-office@example.org' }) })
            .where('id', '=', eventId)
            .execute();
          const model = {
            status: 'none' as TicketingStatus,
            id: null as number | null,
            hiEventsStatus: undefined as string | undefined,
            applied: 0,
            /** The last applied change was an organizer turning ticketing off (and no session since). */
            turnedOff: false,
          };

          for (const [index, step] of steps.entries()) {
            advance(10);
            const change: StatusChange =
              step.source === 'organizer'
                ? { source: 'organizer', actorUserId: 1, eventId, status: 'none', occurredAt: clock() }
                : {
                    source: 'hi-events',
                    webhookId: `whmsg_property_${eventId}_${index}`,
                    eventId,
                    status: step.status,
                    occurredAt: clock(),
                    hiEventsEventId: step.hiEventsEventId,
                    hiEventsEventUrl: step.hiEventsEventId
                      ? `https://tickets.example/event/${step.hiEventsEventId}/x`
                      : null,
                    hiEventsStatus: step.hiEventsStatus,
                  };
            const result = await applyStatusChange(api.database.db, change, clock());
            const check =
              step.source === 'organizer'
                ? { ok: true, changed: model.status !== 'none' }
                : checkTransition(model.status, step.status);
            const linkedElsewhere =
              step.source === 'hi-events' &&
              model.id !== null &&
              step.hiEventsEventId !== null &&
              step.hiEventsEventId !== model.id;
            const turnedOff =
              step.source === 'hi-events' &&
              model.turnedOff &&
              model.status === 'none' &&
              step.status !== 'none';
            expect(result.outcome).toBe(
              linkedElsewhere
                ? 'linked_elsewhere'
                : turnedOff
                  ? 'turned_off'
                  : !check.ok
                    ? 'transition_not_allowed'
                    : check.changed
                      ? 'applied'
                      : 'skipped',
            );
            if (result.outcome === 'applied') {
              model.turnedOff = step.source === 'organizer';
              model.applied++;
              model.status = step.status;
              const reported = step.source === 'hi-events' ? step : undefined;
              model.id = step.status === 'none' ? null : (reported?.hiEventsEventId ?? model.id);
              model.hiEventsStatus =
                step.status === 'none' ? undefined : (reported?.hiEventsStatus ?? model.hiEventsStatus);
            }

            const row = await eventRow(eventId);
            expectConsistent(row);
            expect(row.ticketing_status).toBe(model.status);
            expect(row.hi_events_event_id).toBe(model.id);
            expect(row.contactData.hiEventsStatus).toBe(model.hiEventsStatus);
            expect(row.contactData.email).toBe('box-office@example.org');
            const changes = await changesOf(eventId);
            expect(changes).toHaveLength(model.applied);
            if (changes.length > 0) {
              const last = changes.at(-1)!;
              expect(row.contactData.hiEventsLastUpdated).toBe(last.occurred_at.toISOString());
              expect(last).toMatchObject({
                to_status: row.ticketing_status,
                hi_events_event_url: row.hi_events_event_url,
              });
            }
          }
        }),
        { numRuns: 25 },
      );
    });
  });

  describe('an organizer cancelling a setup', () => {
    const cancel = (eventId: number, jwt: string) =>
      api.request('POST', `/api/events/${eventId}/ticketing/cancel`, {
        headers: { authorization: `Bearer ${jwt}` },
      });

    it('turns setup back to none, through the change log and the audit log', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup');
      advance(10);
      const response = await cancel(eventId, organizer);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        id: eventId,
        ticketing_status: 'none',
        ticketing_enabled: false,
        hasTicketing: false,
        hi_events_event_id: null,
        hiEventsEventId: null,
        hi_events_event_url: null,
        can_manage_ticketing: true,
      });
      expect((await changesOf(eventId)).at(-1)).toMatchObject({
        from_status: 'setup',
        to_status: 'none',
        source: 'organizer',
        actor_user_id: 1,
        webhook_id: null,
      });
      expect((await auditOf(eventId)).at(-1)).toEqual({
        action: 'ticketing.status_change',
        outcome: 'success',
        reason: null,
        actor: 'user',
        actor_user_id: 1,
      });
    });

    it('takes effect even when the sender’s clock runs ahead of ours', async () => {
      const eventId = await newEvent();
      await deliver(eventId, 'setup', 3);
      const response = await cancel(eventId, organizer);
      expect(response.body.ticketing_status).toBe('none');
    });

    it('turns active and inactive ticketing off too, and answers none again as it is', async () => {
      for (const path of [PATH_TO.active, [...PATH_TO.active, 'inactive' as const]]) {
        const linked = await newEvent();
        for (const status of path) await deliver(linked, status);
        advance(10);
        const off = await cancel(linked, organizer);
        expect(off.status).toBe(200);
        expect(off.body).toMatchObject({ ticketing_status: 'none', hi_events_event_id: null });
        expect((await changesOf(linked)).at(-1)).toMatchObject({ to_status: 'none', source: 'organizer' });
      }

      const untouched = await newEvent();
      const again = await cancel(untouched, organizer);
      expect(again.status).toBe(200);
      expect(again.body.ticketing_status).toBe('none');
      expect(await changesOf(untouched)).toHaveLength(0);
    });

    it('once turned off, Hi.Events cannot link the event again until ticketing is started from Tuvens', async () => {
      const eventId = await newEvent();
      for (const status of PATH_TO.active) await deliver(eventId, status);
      advance(10);
      expect((await cancel(eventId, organizer)).status).toBe(200);

      advance(10);
      const relinked = await sendStatusWebhook(
        api,
        statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() }),
      );
      expect(relinked.status).toBe(409);
      expect(relinked.body.error.code).toBe('ticketing_not_started');
      expect((await eventRow(eventId)).ticketing_status).toBe('none');

      // The organizer enables ticketing again: a session is issued, and the link is accepted.
      const session = await api.request('POST', '/api/cross-app/generate-session', {
        headers: { authorization: `Bearer ${organizer}` },
        body: { eventId, appId: 'hi-events' },
      });
      expect(session.status).toBe(200);
      advance(10);
      const linked = await sendStatusWebhook(
        api,
        statusWebhook({ tuvens_event_id: eventId, status: 'setup' }, { occurredAt: clock() }),
      );
      expect(linked.body).toMatchObject({ applied: true, status: 'setup' });
    });

    it('lets only an owner or admin cancel: 403 for a member or an outsider, 404 where the event is hidden', async () => {
      const publicEvent = await newEvent('public');
      const privateEvent = await newEvent('private');
      for (const eventId of [publicEvent, privateEvent]) await deliver(eventId, 'setup');

      expect((await cancel(publicEvent, member)).status).toBe(403);
      expect((await cancel(publicEvent, attendee)).status).toBe(403);
      expect((await cancel(privateEvent, attendee)).status).toBe(404);
      const anonymous = await api.request('POST', `/api/events/${publicEvent}/ticketing/cancel`);
      expect(anonymous.status).toBe(401);
      expect((await eventRow(publicEvent)).ticketing_status).toBe('setup');
      expect((await eventRow(privateEvent)).ticketing_status).toBe('setup');
    });
  });

  describe('caching of the event answer', () => {
    it('answers an ETag and revalidation headers, and 304 while nothing changed', async () => {
      const eventId = await newEvent();
      const first = await api.request('GET', `/api/events/${eventId}`);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
      expect(first.headers.get('cache-control')).toBe('private, no-cache');
      expect(first.headers.get('vary')).toMatch(/Authorization/);

      const again = await api.request('GET', `/api/events/${eventId}`, {
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
      expect(again.body).toBeUndefined();
      expect(again.headers.get('etag')).toBe(etag);
    });

    it('gives each viewer’s answer its own ETag', async () => {
      const eventId = await newEvent();
      const anonymous = await api.request('GET', `/api/events/${eventId}`);
      const owner = await api.request('GET', `/api/events/${eventId}`, {
        headers: { authorization: `Bearer ${organizer}`, 'if-none-match': anonymous.headers.get('etag')! },
      });
      expect(owner.status).toBe(200);
      expect(owner.body.can_manage_ticketing).toBe(true);
    });

    it('changes the ETag with a status change, so the cached answer is not reused', async () => {
      const eventId = await newEvent();
      const before = await api.request('GET', `/api/events/${eventId}`);
      await deliver(eventId, 'setup');
      const changedAt = clock();
      const after = await api.request('GET', `/api/events/${eventId}`, {
        headers: { 'if-none-match': before.headers.get('etag')! },
      });
      expect(after.status).toBe(200);
      expect(after.body.ticketing_status).toBe('setup');
      expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
      expect((await eventRow(eventId)).updated_at).toEqual(changedAt);
    });
  });
});

/** The ticketing fields of an event agree with each other, in the seed's legacy names too. */
function expectConsistent(row: EventRow): void {
  const linked = row.ticketing_status !== 'none';
  expect(row.ticketing_enabled).toBe(linked);
  expect(row.hasTicketing).toBe(linked);
  expect(row.hiEventsEventId).toBe(row.hi_events_event_id);
  expect(row.contactData.hiEventsEventId).toBe(row.hi_events_event_id ?? undefined);
  if (!linked) {
    expect(row.hi_events_event_id).toBeNull();
    expect(row.hi_events_event_url).toBeNull();
    expect(row.contactData.hiEventsStatus).toBeUndefined();
  }
}
