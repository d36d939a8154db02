import { z } from 'zod';
import { AccountRole, Membership, User } from './auth.ts';
import { EventId } from './events.ts';
import { TicketingStatus } from './ticketing.ts';

/** The apps a cross-app session may be made for. */
export const CrossAppId = z.enum(['hi-events']);

/** A session token: 32 random bytes, base64url without padding. */
export const SessionToken = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 43-character base64url session token');

export const GenerateSessionRequest = z.object({
  eventId: EventId,
  appId: CrossAppId,
});
export type GenerateSessionRequest = z.infer<typeof GenerateSessionRequest>;

export const GenerateSessionResponse = z.object({
  session_token: z.string(),
  expires_at: z.string(),
});
export type GenerateSessionResponse = z.infer<typeof GenerateSessionResponse>;

export const ValidateSessionRequest = z.object({
  session_token: SessionToken,
});
export type ValidateSessionRequest = z.infer<typeof ValidateSessionRequest>;

export const SessionEvent = z.object({
  id: z.number().int(),
  title: z.string(),
  starts_at: z.string(),
  ends_at: z.string(),
  ticketing_status: TicketingStatus,
  hi_events_event_id: z.number().int().nullable(),
});
export type SessionEvent = z.infer<typeof SessionEvent>;

export const ValidateSessionResponse = z.object({
  user_data: User,
  account_data: z.object({ id: z.number().int(), name: z.string(), role: AccountRole }),
  event: SessionEvent,
  expires_at: z.string(),
});
export type ValidateSessionResponse = z.infer<typeof ValidateSessionResponse>;

export const UserAccountsResponse = z.object({
  user_data: User,
  accounts: z.array(Membership),
});
export type UserAccountsResponse = z.infer<typeof UserAccountsResponse>;

/** What a connector may ask about: viewing or managing an event's ticketing, or managing an account. */
export const Permission = z.enum(['event:view', 'event:manage_ticketing', 'account:manage']);
export type Permission = z.infer<typeof Permission>;

export const PermissionResource = z.object({
  type: z.enum(['event', 'account']),
  id: z.number().int().positive().max(2_147_483_647),
});

export const ValidatePermissionRequest = z
  .object({
    permission: Permission,
    resource: PermissionResource,
  })
  .refine((body) => body.permission.split(':')[0] === body.resource.type, {
    message: 'resource.type does not match the permission',
    path: ['resource', 'type'],
  });
export type ValidatePermissionRequest = z.infer<typeof ValidatePermissionRequest>;

export const ValidatePermissionResponse = z.object({
  allowed: z.boolean(),
  role: AccountRole.nullable(),
});
export type ValidatePermissionResponse = z.infer<typeof ValidatePermissionResponse>;

/** Header names of the server-to-server calls. */
export const SHARED_SECRET_HEADER = 'x-shared-secret';
export const SESSION_TOKEN_HEADER = 'x-session-token';
