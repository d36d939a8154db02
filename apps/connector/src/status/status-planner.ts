import {
  checkTransition,
  type HiEventsEventState,
  mapHiEventsStatus,
  type TicketingStatus,
} from '@tuvens/contracts';

/** One status to report to tuvens-api, and why. */
export interface StatusStep {
  status: TicketingStatus;
  reason: string;
}

/** Why Hi.Events' state maps to the status it does, in the words the status webhook carries. */
export function describeHiEventsState(state: HiEventsEventState): string {
  if (state.deleted) return 'deleted';
  if (state.status === 'DRAFT') return 'draft';
  if (state.status === 'ARCHIVED') return 'archived';
  return state.lifecycle_status === 'ENDED' ? 'ended' : 'published';
}

/**
 * What to report after seeing an event's state in Hi.Events, given the last status reported.
 * The mapping is the contract's (`mapHiEventsStatus`); when its result is not a move tuvens-api's
 * state machine allows from the last report, the nearest truthful allowed moves are sent instead,
 * so that nothing queued is bound to be refused:
 * - a live event put back to draft (paused) or deleted reads as `inactive`: tickets are not on sale;
 * - an event archived before it was ever published reads as `none`: set-up was abandoned;
 * - an event that went live and ended between two observations reads as `active`, then `inactive`;
 * - an event published after ticketing was dropped reads as `setup`, then `active`.
 * Every step returned is allowed by `checkTransition` from the one before.
 */
export function planStatusReport(reported: TicketingStatus, state: HiEventsEventState): StatusStep[] {
  const target = mapHiEventsStatus(state);
  const reason = describeHiEventsState(state);
  const check = checkTransition(reported, target);
  if (check.ok) return check.changed ? [{ status: target, reason }] : [];

  if (reported === 'active') {
    return [{ status: 'inactive', reason: reason === 'draft' ? 'unpublished' : reason }];
  }
  if (reported === 'inactive') return [];
  if (reported === 'setup') {
    // Only `inactive` is out of reach from `setup`: an archived draft, or a live event that has ended.
    return reason === 'ended'
      ? [
          { status: 'active', reason: 'published' },
          { status: 'inactive', reason },
        ]
      : [{ status: 'none', reason: 'archived_before_publish' }];
  }
  // From `none`, only `active` has an allowed path, through `setup`.
  return target === 'active'
    ? [
        { status: 'setup', reason: 'relinked' },
        { status: 'active', reason },
      ]
    : [];
}
