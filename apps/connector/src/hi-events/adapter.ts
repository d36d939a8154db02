import { randomBytes } from 'node:crypto';
import {
  HI_EVENTS_AUTH_TOKEN_HEADER,
  HI_EVENTS_EVENT_PAGE_PATH,
  HI_EVENTS_PUBLIC_EVENT_PATH,
  HI_EVENTS_TICKET_SETUP_PATH,
  HI_EVENTS_TOKEN_COOKIE,
  HI_EVENTS_TOKEN_PRV,
  HiEventsAccount,
  type HiEventsCreateEventRequest,
  HiEventsErrorBody,
  HiEventsEvent,
  HiEventsOrganizer,
  HiEventsPublicEvent,
  type HiEventsRole,
  HiEventsTicketWebhookType,
  HiEventsUser,
  HiEventsWebhookWithSecret,
  hiEventsData,
} from '@tuvens/contracts';
import type { Clock } from '@tuvens/server';
import { decodeJwt, SignJWT } from 'jose';
import { z } from 'zod';
import type { ConnectorConfig } from '../config.ts';

/** Who the connector acts as in Hi.Events: a user in one of their accounts. */
export interface HiEventsIdentity {
  userId: number;
  accountId: number;
  role: HiEventsRole;
}

/** The attribute that ties a Hi.Events event to its Tuvens event; private, so the public never sees it. */
export const TUVENS_EVENT_ATTRIBUTE = 'tuvens_event_id';

/** Hi.Events' `DomainEventType` values the connector subscribes each linked event to. */
export const SUBSCRIBED_WEBHOOK_TYPES = [
  'event.updated',
  'event.archived',
  ...HiEventsTicketWebhookType.options,
] as const;

/**
 * Why a call to Hi.Events failed: `unreachable` (network, timeout, 5xx, a redirect), `refused` (a 4xx,
 * with Hi.Events' field errors) or `unexpected` (an answer not of Hi.Events' shape).
 */
export class HiEventsError extends Error {
  override name = 'HiEventsError';
  readonly kind: 'unreachable' | 'refused' | 'unexpected';
  readonly status: number | undefined;
  readonly fieldErrors: Record<string, string[]>;

  constructor(
    kind: HiEventsError['kind'],
    message: string,
    options: { status?: number; fieldErrors?: Record<string, string[]>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.fieldErrors = options.fieldErrors ?? {};
  }
}

export type EventLookup = { found: true; event: HiEventsEvent } | { found: false };
export type PublicEventLookup = { found: true; event: HiEventsPublicEvent } | { found: false };

/** Everything the connector asks of Hi.Events; a deployment points it at a real Hi.Events by URL and secret. */
export interface HiEventsAdapter {
  /** Creates an account and its first user (`POST /auth/register`); the user signs in only through Tuvens. */
  registerAccount(input: {
    firstName: string;
    lastName: string | null;
    email: string;
    timezone: string;
    currency: string;
  }): Promise<{ accountId: number; userId: number }>;
  createOrganizer(
    as: HiEventsIdentity,
    input: { name: string; email: string },
  ): Promise<{ organizerId: number }>;
  /** Adds a user to the account of `as` (`POST /users`). */
  addUser(
    as: HiEventsIdentity,
    input: { firstName: string; lastName: string | null; email: string; role: HiEventsRole },
  ): Promise<{ userId: number }>;
  createEvent(
    as: HiEventsIdentity,
    input: { organizerId: number; title: string; startsAt: string; endsAt: string; tuvensEventId: number },
  ): Promise<HiEventsEvent>;
  /** The event now; a deleted or unknown event is `{found: false}`. */
  getEvent(as: HiEventsIdentity, eventId: number): Promise<EventLookup>;
  /**
   * The event with its products as buyers see them (`GET /public/events/{id}`). Asked signed in, because
   * Hi.Events counts an anonymous read as a page view; so a draft is answered too, and the caller checks
   * the status. A deleted or unknown event is `{found: false}`.
   */
  getPublicEvent(as: HiEventsIdentity, eventId: number): Promise<PublicEventLookup>;
  /** An event of the organizer carrying the Tuvens event's private attribute, if one was created before. */
  findEventForTuvensEvent(
    as: HiEventsIdentity,
    organizerId: number,
    tuvensEventId: number,
  ): Promise<HiEventsEvent | undefined>;
  /** Registers the connector for an event's status webhooks; Hi.Events answers the secret this once only. */
  createWebhook(
    as: HiEventsIdentity,
    eventId: number,
    url: string,
  ): Promise<{ webhookId: number; secret: string }>;
  /** A token that signs a person in to Hi.Events' own pages, as Hi.Events' sign-in would issue it. */
  issueSignInToken(identity: HiEventsIdentity): Promise<string>;
  /** Ends a Hi.Events sign-in early (jwt-auth's blacklist through `POST /auth/logout`); best effort. */
  signOut(token: string): Promise<void>;
  /** The public event page, reported to Tuvens as `hi_events_event_url`. */
  eventPageUrl(event: Pick<HiEventsEvent, 'id' | 'slug'>): string;
  /** Where an organizer sets up an event's tickets. */
  ticketSetupUrl(eventId: number): string;
  /** The cookie that carries a sign-in token to Hi.Events' pages. */
  readonly signInCookie: { name: string; domain: string | undefined; maxAgeSeconds: number };
}

export interface HiEventsAdapterDeps {
  config: ConnectorConfig;
  clock: Clock;
  fetch?: typeof fetch;
}

/** Tokens the connector signs for its own API calls live minutes, not hours. */
const API_TOKEN_TTL_S = 5 * 60;

const RegisteredAccount = hiEventsData(HiEventsAccount);
const CreatedUser = hiEventsData(HiEventsUser);
const CreatedOrganizer = hiEventsData(HiEventsOrganizer);
const OneEvent = hiEventsData(HiEventsEvent);
const OnePublicEvent = hiEventsData(HiEventsPublicEvent);
const CreatedWebhook = hiEventsData(HiEventsWebhookWithSecret);
const EventPage = z.object({
  data: z.array(HiEventsEvent),
  meta: z.object({ last_page: z.number().int().optional() }).partial().optional(),
});

/** The one module that talks to Hi.Events: its REST API under `/api`, authenticated with HS256 tokens. */
export function createHiEventsAdapter({
  config,
  clock,
  fetch: fetchImpl = fetch,
}: HiEventsAdapterDeps): HiEventsAdapter {
  const { hiEvents } = config;

  const signToken = (identity: HiEventsIdentity, ttlSeconds: number) => {
    const issuedAt = Math.floor(clock().getTime() / 1000);
    // jwt-auth requires iss, iat, exp, nbf, sub, jti and the user model's `prv`; Hi.Events reads
    // `account_id` (and `role`) from the token to scope every request (`AuthUserService`).
    return new SignJWT({ prv: HI_EVENTS_TOKEN_PRV, account_id: identity.accountId, role: identity.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(`${config.publicUrl}/auth/cross-app`)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .setSubject(String(identity.userId))
      .setJti(randomBytes(20).toString('hex'))
      .sign(hiEvents.jwtSecret);
  };

  async function call<T extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { as?: HiEventsIdentity; body?: unknown; schema: T; tries?: number },
  ): Promise<{ data: z.infer<T>; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.as) headers.authorization = `Bearer ${await signToken(options.as, API_TOKEN_TTL_S)}`;
    const tries = options.tries ?? 1;
    for (let attempt = 1; ; attempt += 1) {
      let response: Response;
      try {
        response = await fetchImpl(`${hiEvents.apiUrl}${path}`, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          redirect: 'manual',
          signal: AbortSignal.timeout(hiEvents.timeoutMs),
        });
      } catch (error) {
        if (attempt < tries) continue;
        throw new HiEventsError('unreachable', `${method} ${path}: ${describe(error)}`, { cause: error });
      }
      if (response.status >= 500 && attempt < tries) continue;
      return { data: await readAnswer(method, path, response, options.schema), headers: response.headers };
    }
  }

  return {
    async registerAccount(input) {
      // The person never types this password: they sign in to Hi.Events through Tuvens.
      const password = randomBytes(24).toString('base64url');
      const { data, headers } = await call('POST', '/auth/register', {
        body: {
          first_name: input.firstName,
          // Hi.Events validates last_name as a string when it is present at all.
          ...(input.lastName ? { last_name: input.lastName } : {}),
          email: input.email,
          password,
          password_confirmation: password,
          timezone: input.timezone,
          currency_code: input.currency,
        },
        schema: RegisteredAccount,
      });
      const token = headers.get(HI_EVENTS_AUTH_TOKEN_HEADER);
      const userId = token ? Number(safeDecode(token)?.sub) : Number.NaN;
      if (!Number.isSafeInteger(userId) || userId < 1) {
        throw new HiEventsError('unexpected', 'POST /auth/register: no user token in X-Auth-Token');
      }
      return { accountId: data.data.id, userId };
    },

    async createOrganizer(as, input) {
      const { data } = await call('POST', '/organizers', {
        as,
        body: {
          name: input.name.slice(0, 100),
          email: input.email,
          timezone: hiEvents.defaultTimezone,
          currency: hiEvents.defaultCurrency,
        },
        schema: CreatedOrganizer,
      });
      return { organizerId: data.data.id };
    },

    async addUser(as, input) {
      const { data } = await call('POST', '/users', {
        as,
        body: {
          first_name: input.firstName,
          // Hi.Events validates last_name as a string when it is present at all.
          ...(input.lastName ? { last_name: input.lastName } : {}),
          email: input.email,
          role: input.role,
        },
        schema: CreatedUser,
      });
      return { userId: data.data.id };
    },

    async createEvent(as, input) {
      const body: HiEventsCreateEventRequest = {
        title: input.title.slice(0, 150),
        start_date: input.startsAt,
        end_date: input.endsAt,
        organizer_id: input.organizerId,
        timezone: hiEvents.defaultTimezone,
        currency: hiEvents.defaultCurrency,
        attributes: [{ name: TUVENS_EVENT_ATTRIBUTE, value: String(input.tuvensEventId), is_public: false }],
      };
      const { data } = await call('POST', '/events', { as, body, schema: OneEvent });
      return data.data;
    },

    async getEvent(as, eventId) {
      try {
        const { data } = await call('GET', `/events/${eventId}`, { as, schema: OneEvent, tries: 2 });
        return { found: true, event: data.data };
      } catch (error) {
        if (error instanceof HiEventsError && error.status === 404) return { found: false };
        throw error;
      }
    },

    async getPublicEvent(as, eventId) {
      try {
        const { data } = await call('GET', HI_EVENTS_PUBLIC_EVENT_PATH(eventId), {
          as,
          schema: OnePublicEvent,
          tries: 2,
        });
        return { found: true, event: data.data };
      } catch (error) {
        if (error instanceof HiEventsError && error.status === 404) return { found: false };
        throw error;
      }
    },

    async findEventForTuvensEvent(as, organizerId, tuvensEventId) {
      const { data } = await call('GET', `/organizers/${organizerId}/events?per_page=100`, {
        as,
        schema: EventPage,
        tries: 2,
      });
      return data.data.find((event) =>
        event.attributes?.some(
          (attribute) =>
            attribute.name === TUVENS_EVENT_ATTRIBUTE && String(attribute.value) === String(tuvensEventId),
        ),
      );
    },

    async createWebhook(as, eventId, url) {
      const { data } = await call('POST', `/events/${eventId}/webhooks`, {
        as,
        body: { url, event_types: SUBSCRIBED_WEBHOOK_TYPES, status: 'ENABLED' },
        schema: CreatedWebhook,
      });
      return { webhookId: data.data.id, secret: data.data.secret };
    },

    issueSignInToken: (identity) => signToken(identity, hiEvents.tokenTtlSeconds),

    async signOut(token) {
      try {
        await fetchImpl(`${hiEvents.apiUrl}/auth/logout`, {
          method: 'POST',
          headers: { accept: 'application/json', authorization: `Bearer ${token}` },
          redirect: 'manual',
          signal: AbortSignal.timeout(hiEvents.timeoutMs),
        });
      } catch {
        // The token still expires on its own; signing out of the connector must not wait on Hi.Events.
      }
    },

    eventPageUrl: (event) => `${hiEvents.url}${HI_EVENTS_EVENT_PAGE_PATH(event.id, event.slug)}`,
    ticketSetupUrl: (eventId) => `${hiEvents.url}${HI_EVENTS_TICKET_SETUP_PATH(eventId)}`,
    signInCookie: {
      name: HI_EVENTS_TOKEN_COOKIE,
      domain: hiEvents.cookieDomain,
      maxAgeSeconds: hiEvents.tokenTtlSeconds,
    },
  };
}

async function readAnswer<T extends z.ZodType>(
  method: string,
  path: string,
  response: Response,
  schema: T,
): Promise<z.infer<T>> {
  const where = `${method} ${path.split('?')[0]}`;
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status >= 300 && response.status < 400) {
    throw new HiEventsError('unreachable', `${where}: redirected (${response.status}), not followed`, {
      status: response.status,
    });
  }
  if (response.status >= 500) {
    throw new HiEventsError('unreachable', `${where}: Hi.Events answered ${response.status}`, {
      status: response.status,
    });
  }
  if (response.status >= 400) {
    const error = HiEventsErrorBody.safeParse(body);
    const message = error.success ? error.data.message : `status ${response.status}`;
    throw new HiEventsError('refused', `${where}: ${message}`, {
      status: response.status,
      fieldErrors: error.success ? error.data.errors : undefined,
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HiEventsError(
      'unexpected',
      `${where}: unexpected answer at ${issue?.path.join('.') || 'body'}`,
      {
        status: response.status,
      },
    );
  }
  return parsed.data;
}

function safeDecode(token: string) {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}
