import { describe, expect, it } from 'vitest';
import { checkTransition, mapHiEventsStatus, TicketingStatus } from './ticketing.ts';

describe('the ticketing state machine', () => {
  const allowed = ['none→setup', 'setup→active', 'active→inactive', 'inactive→active', 'setup→none'];

  it('allows exactly the seed’s transitions, and the same status again as a no-op', () => {
    for (const from of TicketingStatus.options) {
      for (const to of TicketingStatus.options) {
        const check = checkTransition(from, to);
        if (from === to) expect(check).toEqual({ ok: true, changed: false });
        else if (allowed.includes(`${from}→${to}`)) expect(check).toEqual({ ok: true, changed: true });
        else expect(check).toEqual({ ok: false, reason: 'transition_not_allowed' });
      }
    }
  });
});

describe('Hi.Events status → Tuvens status', () => {
  it('maps as docs/contract.md#status-mapping lists', () => {
    expect(mapHiEventsStatus({ status: 'DRAFT', lifecycle_status: 'UPCOMING' })).toBe('setup');
    expect(mapHiEventsStatus({ status: 'LIVE', lifecycle_status: 'UPCOMING' })).toBe('active');
    expect(mapHiEventsStatus({ status: 'LIVE', lifecycle_status: 'ONGOING' })).toBe('active');
    expect(mapHiEventsStatus({ status: 'LIVE', lifecycle_status: 'ENDED' })).toBe('inactive');
    expect(mapHiEventsStatus({ status: 'ARCHIVED', lifecycle_status: 'UPCOMING' })).toBe('inactive');
    expect(mapHiEventsStatus({ deleted: true })).toBe('none');
  });
});
