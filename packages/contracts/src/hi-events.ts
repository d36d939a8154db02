import { z } from 'zod';
import { HiEventsEventStatus, HiEventsLifecycleStatus } from './ticketing.ts';

/**
 * Facts of stock Hi.Events that more than one part relies on. The embed script
 * (Hi.Events `frontend/src/embed/widget.js`) loads `{origin}/widget/{eventId}?iframeId=…`
 * and the widget page posts `{type: 'resize', height, iframeId}` to its parent; the parent
 * honours it only from the Hi.Events origin.
 */
export const HI_EVENTS_WIDGET_PATH = (eventId: number) => `/widget/${eventId}`;

export const WidgetResizeMessage = z.object({
  type: z.literal('resize'),
  height: z.number().positive(),
  iframeId: z.string(),
});
export type WidgetResizeMessage = z.infer<typeof WidgetResizeMessage>;

/** The envelope of every webhook Hi.Events sends (`WebhookDispatchService`). */
export const HiEventsWebhookEnvelope = z.object({
  event_type: z.string(),
  event_sent_at: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export type HiEventsWebhookEnvelope = z.infer<typeof HiEventsWebhookEnvelope>;

/** Header Hi.Events adds to every webhook (`backend/config/webhook-server.php`). */
export const HI_EVENTS_WEBHOOK_SOURCE_HEADER = 'x-webhook-source';
export const HI_EVENTS_WEBHOOK_SOURCE = 'Hi.Events';

/**
 * The webhook event types of Hi.Events that concern an event itself
 * (`DomainEventType`): a status change to `ARCHIVED` is `event.archived`, any other is `event.updated`.
 */
export const HiEventsEventWebhookType = z.enum(['event.created', 'event.updated', 'event.archived']);
export type HiEventsEventWebhookType = z.infer<typeof HiEventsEventWebhookType>;

/** Every webhook event type Hi.Events accepts when a webhook is created (`DomainEventType`). */
export const HI_EVENTS_WEBHOOK_TYPES = [
  'product.created',
  'product.updated',
  'product.deleted',
  'event.created',
  'event.updated',
  'event.archived',
  'order.created',
  'order.updated',
  'order.marked_as_paid',
  'order.refunded',
  'order.cancelled',
  'attendee.created',
  'attendee.updated',
  'attendee.cancelled',
  'checkin.created',
  'checkin.deleted',
] as const;
export const HiEventsWebhookType = z.enum(HI_EVENTS_WEBHOOK_TYPES);
export type HiEventsWebhookType = z.infer<typeof HiEventsWebhookType>;

/** A user's role in a Hi.Events account (`Role` enum). */
export const HiEventsRole = z.enum(['SUPERADMIN', 'ADMIN', 'ORGANIZER']);
export type HiEventsRole = z.infer<typeof HiEventsRole>;

/**
 * The claims of a Hi.Events API token. Hi.Events signs HS256 tokens with its `JWT_SECRET`
 * through php-open-source-saver/jwt-auth, which requires `iss iat exp nbf sub jti`
 * (`backend/config/jwt.php`, `required_claims`). With `lock_subject` on, a `prv` claim, when present,
 * must name the user model; jwt-auth 2.8.2 accepts a token without one (`JWT::checkSubjectModel`).
 * Hi.Events adds `account_id` and `role` when it signs a user in (`LoginService`).
 */
export const HiEventsTokenClaims = z.object({
  iss: z.string(),
  iat: z.number(),
  exp: z.number(),
  nbf: z.number(),
  sub: z.string(),
  jti: z.string(),
  prv: z.string().optional(),
  account_id: z.number().int(),
  role: HiEventsRole.optional(),
});
export type HiEventsTokenClaims = z.infer<typeof HiEventsTokenClaims>;

/**
 * The `prv` claim of every Hi.Events user token: jwt-auth's SHA-1 of the subject's model class,
 * `sha1('HiEvents\\Models\\User')`; a token carrying another value is refused while `lock_subject` is on.
 */
export const HI_EVENTS_TOKEN_PRV = 'b5b1af1aef51e22e5cbe394c3745722ab80ad6cc';

/** The cookie Hi.Events sets on sign-in and reads API tokens from (`BaseAuthAction`, jwt-auth's cookie parser). */
export const HI_EVENTS_TOKEN_COOKIE = 'token';

/** Hi.Events answers one resource as `{data: …}` (Laravel's `JsonResource` wrapping). */
export const hiEventsData = <T extends z.ZodType>(resource: T) => z.object({ data: resource });

/** A Hi.Events date-time: ISO 8601, or Laravel's `Y-m-d H:i:s` in UTC. */
const HiEventsDateTime = z.string().min(1);

/** The event resource (`backend/app/Resources/Event/EventResource.php`), with the fields the connector reads. */
export const HiEventsEvent = z.object({
  id: z.number().int().positive(),
  title: z.string(),
  description: z.string().nullable().optional(),
  start_date: HiEventsDateTime.nullable(),
  end_date: HiEventsDateTime.nullable(),
  status: HiEventsEventStatus,
  lifecycle_status: HiEventsLifecycleStatus,
  currency: z.string().nullable().optional(),
  timezone: z.string().nullable().optional(),
  slug: z.string(),
  attributes: z
    .array(z.object({ name: z.string(), value: z.unknown(), is_public: z.boolean().optional() }))
    .optional(),
});
export type HiEventsEvent = z.infer<typeof HiEventsEvent>;

/** `POST /api/events` (`CreateEventRequest`, `EventRules`). */
export const HiEventsCreateEventRequest = z.object({
  title: z.string().min(1).max(150),
  start_date: z.string(),
  end_date: z.string().nullable().optional(),
  organizer_id: z.number().int().positive(),
  timezone: z.string().optional(),
  currency: z.string().length(3).optional(),
  description: z.string().min(1).max(50_000).nullable().optional(),
  attributes: z
    .array(
      z.object({
        name: z.string().min(1).max(50),
        value: z.union([z.string().min(1).max(1000), z.number()]),
        is_public: z.boolean(),
      }),
    )
    .optional(),
});
export type HiEventsCreateEventRequest = z.infer<typeof HiEventsCreateEventRequest>;

/** `PUT /api/events/{id}/status` (`UpdateEventStatusRequest`). */
export const HiEventsUpdateEventStatusRequest = z.object({ status: HiEventsEventStatus });

/** The webhook resource (`WebhookResource`); the secret is present only in the answer to its creation. */
export const HiEventsWebhook = z.object({
  id: z.number().int().positive(),
  url: z.string(),
  event_types: z.array(z.string()),
  status: z.enum(['ENABLED', 'PAUSED']),
  last_triggered_at: z.string().nullable().optional(),
  last_response_code: z.number().int().nullable().optional(),
  last_response_body: z.string().nullable().optional(),
});
export type HiEventsWebhook = z.infer<typeof HiEventsWebhook>;

/** The answer to `POST /api/events/{id}/webhooks` (`WebhookResourceWithSecret`). */
export const HiEventsWebhookWithSecret = HiEventsWebhook.extend({ secret: z.string().min(1) });
export type HiEventsWebhookWithSecret = z.infer<typeof HiEventsWebhookWithSecret>;

/** `POST /api/events/{id}/webhooks` (`UpsertWebhookRequest`). */
export const HiEventsUpsertWebhookRequest = z.object({
  url: z.url({ protocol: /^https?$/ }),
  event_types: z.array(HiEventsWebhookType).min(1),
  status: z.enum(['ENABLED', 'PAUSED']).optional(),
});
export type HiEventsUpsertWebhookRequest = z.infer<typeof HiEventsUpsertWebhookRequest>;

/** The organizer resource (`OrganizerResource`). */
export const HiEventsOrganizer = z.object({
  id: z.number().int().positive(),
  account_id: z.number().int().positive().optional(),
  name: z.string(),
  email: z.string(),
  currency: z.string().optional(),
  timezone: z.string().optional(),
});
export type HiEventsOrganizer = z.infer<typeof HiEventsOrganizer>;

/** `POST /api/organizers` (`UpsertOrganizerRequest`). */
export const HiEventsCreateOrganizerRequest = z.object({
  name: z.string().min(1).max(100),
  email: z.email(),
  phone: z.string().max(25).nullable().optional(),
  website: z.url().max(255).nullable().optional(),
  description: z.string().max(1200).nullable().optional(),
  timezone: z.string().min(1),
  currency: z.string().length(3),
});
export type HiEventsCreateOrganizerRequest = z.infer<typeof HiEventsCreateOrganizerRequest>;

/** The user resource (`UserResource`). */
export const HiEventsUser = z.object({
  id: z.number().int().positive(),
  account_id: z.number().int().positive().optional(),
  first_name: z.string(),
  last_name: z.string().nullable().optional(),
  email: z.string(),
  role: HiEventsRole.optional(),
  status: z.string().optional(),
  /** `email_verified_at` is set: true for a user who registered (outside SaaS mode), false for one just invited. */
  is_email_verified: z.boolean().optional(),
});
export type HiEventsUser = z.infer<typeof HiEventsUser>;

/** The roles an admin may give (`Role::getAssignableRoles`): never SUPERADMIN. */
export const HiEventsAssignableRole = z.enum(['ADMIN', 'ORGANIZER']);

/** `POST /api/users` (`CreateUserRequest`): adds a user to the signed-in account; `role` is required. */
export const HiEventsCreateUserRequest = z.object({
  first_name: z.string().min(1),
  last_name: z.string().min(1).nullable().optional(),
  email: z.email(),
  role: HiEventsAssignableRole,
});
export type HiEventsCreateUserRequest = z.infer<typeof HiEventsCreateUserRequest>;

/**
 * `PUT /api/users/{user_id}` (`UpdateUserRequest`, `UpdateUserDTO`): an admin sets a member's names,
 * role and status; `status` is `ACTIVE` or `INACTIVE`, never `INVITED`. `UpdateUserDTO` types both
 * names as non-null strings, and Laravel turns an empty one into null, so each must be non-empty.
 */
export const HiEventsUpdateUserRequest = z.object({
  first_name: z.string().min(1).max(100),
  last_name: z.string().min(1).max(100),
  role: HiEventsAssignableRole,
  status: z.enum(['ACTIVE', 'INACTIVE']),
});
export type HiEventsUpdateUserRequest = z.infer<typeof HiEventsUpdateUserRequest>;

/** The account resource (`AccountResource`). */
export const HiEventsAccount = z.object({
  id: z.number().int().positive(),
  name: z.string().optional(),
  currency_code: z.string().optional(),
  timezone: z.string().optional(),
});
export type HiEventsAccount = z.infer<typeof HiEventsAccount>;

/** `POST /api/auth/register` (`CreateAccountRequest`); Hi.Events answers the account and `X-Auth-Token`. */
export const HiEventsRegisterRequest = z
  .object({
    first_name: z.string().min(1),
    last_name: z.string().nullable().optional(),
    email: z.email(),
    password: z.string().min(8),
    password_confirmation: z.string(),
    timezone: z.string().optional(),
    currency_code: z.string().length(3).optional(),
    locale: z.string().nullable().optional(),
  })
  .refine((body) => body.password === body.password_confirmation, {
    message: 'The password field confirmation does not match.',
    path: ['password'],
  });
export type HiEventsRegisterRequest = z.infer<typeof HiEventsRegisterRequest>;

/** The header carrying the new user's token in the answer to registration (`CreateAccountAction`). */
export const HI_EVENTS_AUTH_TOKEN_HEADER = 'x-auth-token';

/** Hi.Events' error answers: `{message, errors}`, with `errors` per field on a 422 (Laravel validation). */
export const HiEventsErrorBody = z.object({
  message: z.string(),
  errors: z.record(z.string(), z.array(z.string())).optional(),
});
export type HiEventsErrorBody = z.infer<typeof HiEventsErrorBody>;

/** The organizer's ticket set-up page of an event in Hi.Events' frontend (`frontend/src/router.tsx`). */
export const HI_EVENTS_TICKET_SETUP_PATH = (eventId: number) => `/manage/event/${eventId}/products`;

/** The public event page in Hi.Events' frontend (`EventDomainObject::getEventUrl`). */
export const HI_EVENTS_EVENT_PAGE_PATH = (eventId: number, slug: string) =>
  `/event/${eventId}/${encodeURIComponent(slug)}`;
