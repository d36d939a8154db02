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

/**
 * A PKCE S256 code challenge: base64url SHA-256 of the verifier, without padding (RFC 7636, 4.2).
 * It binds a session to the browser that started the sign-in (docs/architecture.md#sign-in-flow).
 */
export const CodeChallenge = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 43-character base64url SHA-256 (S256 code challenge)');

/** A PKCE code verifier: 43 to 128 unreserved characters (RFC 7636, 4.1). */
export const CodeVerifier = z
  .string()
  .regex(/^[A-Za-z0-9._~-]{43,128}$/, 'must be 43 to 128 unreserved characters (a PKCE code verifier)');

export const GenerateSessionRequest = z.object({
  eventId: EventId,
  appId: CrossAppId,
  /** Binds the session to a browser: validation then needs the verifier whose S256 this is. */
  codeChallenge: CodeChallenge.optional(),
});
export type GenerateSessionRequest = z.infer<typeof GenerateSessionRequest>;

export const GenerateSessionResponse = z.object({
  session_token: z.string(),
  expires_at: z.string(),
});
export type GenerateSessionResponse = z.infer<typeof GenerateSessionResponse>;

export const ValidateSessionRequest = z.object({
  session_token: SessionToken,
  /** Required, and checked, when the session was generated with a code challenge. */
  code_verifier: CodeVerifier.optional(),
  /** The event the link named; a session for another event is refused unconsumed. */
  event_id: EventId.optional(),
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

export const DescribeSessionRequest = z.object({
  session_token: SessionToken,
});
export type DescribeSessionRequest = z.infer<typeof DescribeSessionRequest>;

/**
 * Whom and what a fresh session would sign in as, read without consuming it: what the connector
 * shows a person before an unbound link may sign their browser in.
 */
export const DescribeSessionResponse = z.object({
  user_data: User,
  account_data: z.object({ id: z.number().int(), name: z.string() }),
  event: z.object({ id: z.number().int(), title: z.string() }),
  /** Whether the session was generated with a code challenge, so that only its own browser can use it. */
  bound: z.boolean(),
  expires_at: z.string(),
});
export type DescribeSessionResponse = z.infer<typeof DescribeSessionResponse>;

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

/**
 * The connector's cookie holding the `state` and PKCE verifier of a sign-in this browser started
 * (docs/architecture.md#sign-in-flow); HttpOnly, SameSite=Lax, path `/auth/cross-app`, minutes long.
 */
export const CROSS_APP_STATE_COOKIE = 'tuvens_cross_app_state';

/** Header names of the server-to-server calls. */
export const SHARED_SECRET_HEADER = 'x-shared-secret';
export const SESSION_TOKEN_HEADER = 'x-session-token';
