import { z } from 'zod';

/** The Tuvens ticketing status of an event. */
export const TicketingStatus = z.enum(['none', 'setup', 'active', 'inactive']);
export type TicketingStatus = z.infer<typeof TicketingStatus>;

/** Allowed moves of the ticketing state machine (seed, "Widget Display Flow"). */
export const TICKETING_TRANSITIONS: Readonly<Record<TicketingStatus, readonly TicketingStatus[]>> = {
  none: ['setup'],
  setup: ['active', 'none'],
  active: ['inactive'],
  inactive: ['active'],
};

export type TransitionCheck =
  | { ok: true; changed: boolean }
  | { ok: false; reason: 'transition_not_allowed' };

/** Whether `from → to` may happen; the same status again is an allowed no-op. */
export function checkTransition(from: TicketingStatus, to: TicketingStatus): TransitionCheck {
  if (from === to) return { ok: true, changed: false };
  if (TICKETING_TRANSITIONS[from].includes(to)) return { ok: true, changed: true };
  return { ok: false, reason: 'transition_not_allowed' };
}

/** Hi.Events' own event status (`EventStatus` enum in Hi.Events). */
export const HiEventsEventStatus = z.enum(['DRAFT', 'LIVE', 'ARCHIVED']);
export type HiEventsEventStatus = z.infer<typeof HiEventsEventStatus>;

/** Hi.Events' computed lifecycle of an event (`EventLifecycleStatus` enum in Hi.Events). */
export const HiEventsLifecycleStatus = z.enum(['UPCOMING', 'ONGOING', 'ENDED']);
export type HiEventsLifecycleStatus = z.infer<typeof HiEventsLifecycleStatus>;

export type HiEventsEventState =
  | { deleted: true }
  | { deleted?: false; status: HiEventsEventStatus; lifecycle_status: HiEventsLifecycleStatus };

/** Maps what Hi.Events says of an event to the Tuvens ticketing status. */
export function mapHiEventsStatus(state: HiEventsEventState): TicketingStatus {
  if (state.deleted) return 'none';
  switch (state.status) {
    case 'DRAFT':
      return 'setup';
    case 'LIVE':
      return state.lifecycle_status === 'ENDED' ? 'inactive' : 'active';
    case 'ARCHIVED':
      return 'inactive';
  }
}
