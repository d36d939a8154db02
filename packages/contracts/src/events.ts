import { z } from 'zod';
import { TicketSummary } from './ticket-summary.ts';
import { TicketingStatus } from './ticketing.ts';

export const EventId = z.number().int().positive().max(2_147_483_647);

const IsoDateTime = z.iso.datetime({ offset: true });

export const CreateEventRequest = z
  .object({
    title: z.string().trim().min(1).max(200),
    starts_at: IsoDateTime,
    ends_at: IsoDateTime,
    visibility: z.enum(['public', 'private']).default('public'),
    /** The account to create it in; by default the first one the user manages. */
    account_id: z.number().int().positive().optional(),
  })
  .refine((event) => Date.parse(event.ends_at) > Date.parse(event.starts_at), {
    message: 'ends_at must be after starts_at',
    path: ['ends_at'],
  });
export type CreateEventRequest = z.infer<typeof CreateEventRequest>;

/** The `contactData` JSON of an event; other keys are kept as they are. */
export const ContactData = z
  .object({
    hiEventsEventId: z.number().int().optional(),
    hiEventsStatus: z.string().optional(),
    hiEventsLastUpdated: z.string().optional(),
  })
  .catchall(z.unknown());
export type ContactData = z.infer<typeof ContactData>;

/** An event as tuvens-api answers it: Tuvens fields plus the seed's `EventWithHiEvents`. */
export const EventWithHiEvents = z.object({
  id: z.number().int(),
  account_id: z.number().int(),
  /** The name of that account: the event's organizer. Optional only for answers older than it. */
  account_name: z.string().optional(),
  title: z.string(),
  starts_at: z.string(),
  ends_at: z.string(),
  visibility: z.enum(['public', 'private']),
  ticketing_enabled: z.boolean(),
  ticketing_status: TicketingStatus,
  hi_events_event_id: z.number().int().nullable(),
  hi_events_event_url: z.string().nullable(),
  hasTicketing: z.boolean(),
  hiEventsEventId: z.number().int().nullable(),
  contactData: ContactData,
  /** Whether the person asking may manage this event's ticketing. */
  can_manage_ticketing: z.boolean(),
  /**
   * What a buyer can learn of the tickets (docs/contract.md#ticket-summary); null until the connector
   * has reported one, and whenever ticketing is `none`. Optional only for answers older than it.
   */
  ticket_summary: TicketSummary.nullable().optional(),
});
export type EventWithHiEvents = z.infer<typeof EventWithHiEvents>;

export const EventList = z.object({ events: z.array(EventWithHiEvents) });
export type EventList = z.infer<typeof EventList>;
