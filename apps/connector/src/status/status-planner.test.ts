import {
  checkTransition,
  type HiEventsEventState,
  HiEventsEventStatus,
  HiEventsLifecycleStatus,
  TicketingStatus,
} from '@tuvens/contracts';
import { describe, expect, it } from 'vitest';
import { planStatusReport } from './status-planner.ts';

const states: HiEventsEventState[] = [
  { deleted: true },
  ...HiEventsEventStatus.options.flatMap((status) =>
    HiEventsLifecycleStatus.options.map((lifecycle_status) => ({ status, lifecycle_status })),
  ),
];

describe('planning what to report to tuvens-api after seeing an event in Hi.Events', () => {
  it('reports the contract’s mapping when tuvens-api’s state machine allows the move', () => {
    expect(planStatusReport('setup', { status: 'LIVE', lifecycle_status: 'UPCOMING' })).toEqual([
      { status: 'active', reason: 'published' },
    ]);
    expect(planStatusReport('active', { status: 'ARCHIVED', lifecycle_status: 'UPCOMING' })).toEqual([
      { status: 'inactive', reason: 'archived' },
    ]);
    expect(planStatusReport('active', { status: 'LIVE', lifecycle_status: 'ENDED' })).toEqual([
      { status: 'inactive', reason: 'ended' },
    ]);
    expect(planStatusReport('inactive', { status: 'LIVE', lifecycle_status: 'ONGOING' })).toEqual([
      { status: 'active', reason: 'published' },
    ]);
    expect(planStatusReport('setup', { deleted: true })).toEqual([{ status: 'none', reason: 'deleted' }]);
  });

  it('reports nothing when the status would not change', () => {
    expect(planStatusReport('setup', { status: 'DRAFT', lifecycle_status: 'UPCOMING' })).toEqual([]);
    expect(planStatusReport('active', { status: 'LIVE', lifecycle_status: 'ONGOING' })).toEqual([]);
  });

  it('reads a live event put back to draft, or deleted, as paused: inactive', () => {
    expect(planStatusReport('active', { status: 'DRAFT', lifecycle_status: 'UPCOMING' })).toEqual([
      { status: 'inactive', reason: 'unpublished' },
    ]);
    expect(planStatusReport('active', { deleted: true })).toEqual([
      { status: 'inactive', reason: 'deleted' },
    ]);
    expect(planStatusReport('inactive', { status: 'DRAFT', lifecycle_status: 'UPCOMING' })).toEqual([]);
  });

  it('reads a draft archived before it was ever published as set-up abandoned: none', () => {
    expect(planStatusReport('setup', { status: 'ARCHIVED', lifecycle_status: 'UPCOMING' })).toEqual([
      { status: 'none', reason: 'archived_before_publish' },
    ]);
  });

  it('reports both steps when an event went live and ended between two looks', () => {
    expect(planStatusReport('setup', { status: 'LIVE', lifecycle_status: 'ENDED' })).toEqual([
      { status: 'active', reason: 'published' },
      { status: 'inactive', reason: 'ended' },
    ]);
  });

  it('never plans a move that tuvens-api would refuse, from any status, for any Hi.Events state', () => {
    for (const reported of TicketingStatus.options) {
      for (const state of states) {
        let from = reported;
        for (const step of planStatusReport(reported, state)) {
          expect(
            checkTransition(from, step.status),
            `${from} → ${step.status} for ${JSON.stringify(state)}`,
          ).toEqual({
            ok: true,
            changed: true,
          });
          from = step.status;
        }
      }
    }
  });
});
