import { randomBytes } from 'node:crypto';
import {
  HI_EVENTS_AUTH_TOKEN_HEADER,
  HI_EVENTS_EVENT_PAGE_PATH,
  HI_EVENTS_TICKET_SETUP_PATH,
  HI_EVENTS_TOKEN_COOKIE,
  HI_EVENTS_TOKEN_PRV,
  HiEventsAccount,
  type HiEventsCreateEventRequest,
  HiEventsErrorBody,
  HiEventsEvent,
  HiEventsOrganizer,
  type HiEventsRole,
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
export const SUBSCRIBED_WEBHOOK_TYPES = ['event.updated', 'event.archived'] as const;

/**
 * Why a call to Hi.Events failed: `unreachable` (network, timeout, 5xx, a redirect, or still rate
 * limited after waiting), `refused` (a 4xx, with Hi.Events' field errors) or `unexpected` (an answer
 * not of Hi.Events' shape).
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

/**
 * Whether Hi.Events refused the `event.*` webhook types as unknown: a release before v1.7.0-beta,
 * where `DomainEventType` has no such values and `UpsertWebhookRequest` answers 422 on `event_types.*`.
 */
export function isWebhookTypeRefusal(error: unknown): boolean {
  return (
    error instanceof HiEventsError &&
    error.status === 422 &&
    Object.keys(error.fieldErrors).some((field) => field.startsWith('event_types'))
  );
}

/** A user as `POST /users` answers it: possibly someone who existed before (Hi.Events finds users by email). */
export interface AddedUser {
  userId: number;
  firstName: string;
  lastName: string | null;
  email: string;
  /** `email_verified_at` is set: they registered or accepted an invitation; a user just invited has none. */
  emailVerified: boolean;
}

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
  /** Adds a user to the account of `as` (`POST /users`) as `INVITED`; the email is sent lowercased. */
  addUser(
    as: HiEventsIdentity,
    input: { firstName: string; lastName: string | null; email: string; role: 'ADMIN' | 'ORGANIZER' },
  ): Promise<AddedUser>;
  /**
   * Sets a member's role and status in the account of `as` (`PUT /users/{id}`, as an ADMIN). Hi.Events
   * writes the names given too, so the caller passes the names the member already has.
   */
  updateMember(
    as: HiEventsIdentity,
    userId: number,
    input: {
      firstName: string;
      lastName: string;
      role: 'ADMIN' | 'ORGANIZER';
      status: 'ACTIVE' | 'INACTIVE';
    },
  ): Promise<void>;
  createEvent(
    as: HiEventsIdentity,
    input: { organizerId: number; title: string; startsAt: string; endsAt: string; tuvensEventId: number },
  ): Promise<HiEventsEvent>;
  /** The event now; a deleted or unknown event is `{found: false}`. */
  getEvent(as: HiEventsIdentity, eventId: number): Promise<EventLookup>;
  /** An event of the organizer carrying the Tuvens event's private attribute, if one was created before. */
  findEventForTuvensEvent(
    as: HiEventsIdentity,
    organizerId: number,
    tuvensEventId: number,
  ): Promise<HiEventsEvent | undefined>;
  /**
   * Whether this Hi.Events refused the `event.*` webhook types (a release before v1.7.0-beta); once
   * seen, webhooks are not asked for again until the connector restarts.
   */
  readonly webhookTypesRefused: boolean;
  /** Records that refusal; answers true the first time only, so that it is logged once. */
  noteWebhookTypesRefused(): boolean;
  /** Registers the connector for an event's status webhooks; Hi.Events answers the secret this once only. */
  createWebhook(
    as: HiEventsIdentity,
    eventId: number,
    url: string,
  ): Promise<{ webhookId: number; secret: string }>;
  /** A token that signs a person in to Hi.Events' own pages, as Hi.Events' sign-in would issue it. */
  issueSignInToken(identity: HiEventsIdentity): Promise<IssuedToken>;
  /**
   * Ends a Hi.Events sign-in early (jwt-auth's blacklist through `POST /auth/logout`); answers whether
   * Hi.Events confirmed it. Never throws.
   */
  signOut(token: string): Promise<boolean>;
  /** The public event page, reported to Tuvens as `hi_events_event_url`. */
  eventPageUrl(event: Pick<HiEventsEvent, 'id' | 'slug'>): string;
  /** Where an organizer sets up an event's tickets. */
  ticketSetupUrl(eventId: number): string;
  /** The cookie that carries a sign-in token to Hi.Events' pages. */
  readonly signInCookie: { name: string; domain: string | undefined; maxAgeSeconds: number };
}

/** A Hi.Events token the connector signed, with what is needed to sign it out again later. */
export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export interface HiEventsAdapterDeps {
  config: ConnectorConfig;
  clock: Clock;
  fetch?: typeof fetch;
  /** Waits out a 429; a seam for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** Tokens the connector signs for its own API calls live minutes, not hours. */
const API_TOKEN_TTL_S = 5 * 60;

/**
 * jwt-auth checks `iat` and `nbf` with zero leeway (`backend/config/jwt.php`), refusing a token
 * whose times lie in Hi.Events' future. Stamping them this far in the past lets the connector's
 * clock run up to this much ahead of Hi.Events'; `exp` still counts from the connector's now.
 */
const CLOCK_SKEW_ALLOWANCE_S = 60;

/** How often a call waits out a 429 (`Retry-After`) before giving up, and the longest single wait: Laravel's limiter counts a minute from the first request. */
const RATE_LIMIT_RETRIES = 2;
const RATE_LIMIT_MAX_WAIT_S = 60;

/** Hi.Events pages at most 100 items (`RepositoryInterface::MAX_PAGINATE_LIMIT`); a bound on pages read. */
const EVENTS_PER_PAGE = 100;
const MAX_EVENT_PAGES = 1000;

const RegisteredAccount = hiEventsData(HiEventsAccount);
const CreatedUser = hiEventsData(HiEventsUser);
const CreatedOrganizer = hiEventsData(HiEventsOrganizer);
const OneEvent = hiEventsData(HiEventsEvent);
const CreatedWebhook = hiEventsData(HiEventsWebhookWithSecret);
const EventPage = z.object({
  data: z.array(HiEventsEvent),
  meta: z.object({ last_page: z.number().int().optional() }).partial().optional(),
});
const UpdatedUser = hiEventsData(HiEventsUser);

/** The one module that talks to Hi.Events: its REST API under `/api`, authenticated with HS256 tokens. */
export function createHiEventsAdapter({
  config,
  clock,
  fetch: fetchImpl = fetch,
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}: HiEventsAdapterDeps): HiEventsAdapter {
  const { hiEvents } = config;

  const signToken = async (identity: HiEventsIdentity, ttlSeconds: number): Promise<IssuedToken> => {
    const now = Math.floor(clock().getTime() / 1000);
    const issuedAt = now - CLOCK_SKEW_ALLOWANCE_S;
    const jti = randomBytes(20).toString('hex');
    // jwt-auth requires iss, iat, exp, nbf, sub, jti, and checks `prv` against the user model; Hi.Events
    // reads `account_id` (and `role`) from the token to scope every request (`AuthUserService`).
    const token = await new SignJWT({
      prv: HI_EVENTS_TOKEN_PRV,
      account_id: identity.accountId,
      role: identity.role,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(`${config.publicUrl}/auth/cross-app`)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(now + ttlSeconds)
      .setSubject(String(identity.userId))
      .setJti(jti)
      .sign(hiEvents.jwtSecret);
    return { token, jti, expiresAt: new Date((now + ttlSeconds) * 1000) };
  };

  async function call<T extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { as?: HiEventsIdentity; body?: unknown; schema: T; tries?: number },
  ): Promise<{ data: z.infer<T>; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.as) headers.authorization = `Bearer ${(await signToken(options.as, API_TOKEN_TTL_S)).token}`;
    const tries = options.tries ?? 1;
    let waits = 0;
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
      if (response.status === 429) {
        // Hi.Events limits each user's requests a minute (`APP_API_RATE_LIMIT_PER_MINUTE`, 180 by
        // default); the wait it names is honoured a bounded number of times, then it counts as an outage.
        const waitSeconds = Number(response.headers.get('retry-after'));
        await response.body?.cancel();
        const wait = Number.isFinite(waitSeconds) && waitSeconds > 0 ? waitSeconds : 1;
        if (waits < RATE_LIMIT_RETRIES && wait <= RATE_LIMIT_MAX_WAIT_S) {
          waits += 1;
          attempt -= 1;
          await sleep(wait * 1000);
          continue;
        }
        throw new HiEventsError('unreachable', `${method} ${path.split('?')[0]}: rate limited (429)`, {
          status: 429,
        });
      }
      return { data: await readAnswer(method, path, response, options.schema), headers: response.headers };
    }
  }

  let webhookTypesRefused = false;

  return {
    get webhookTypesRefused() {
      return webhookTypesRefused;
    },
    noteWebhookTypesRefused() {
      if (webhookTypesRefused) return false;
      webhookTypesRefused = true;
      return true;
    },

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
          // `CreateUserHandler::getExistingUser` compares the email as given, while every user is
          // stored lowercased: a mixed-case email would miss its user.
          email: input.email.toLowerCase(),
          role: input.role,
        },
        schema: CreatedUser,
      });
      const user = data.data;
      return {
        userId: user.id,
        firstName: user.first_name,
        lastName: user.last_name ?? null,
        email: user.email,
        emailVerified: user.is_email_verified === true,
      };
    },

    async updateMember(as, userId, input) {
      await call('PUT', `/users/${userId}`, {
        as,
        body: {
          first_name: input.firstName,
          last_name: input.lastName,
          role: input.role,
          status: input.status,
        },
        schema: UpdatedUser,
      });
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

    async findEventForTuvensEvent(as, organizerId, tuvensEventId) {
      for (let page = 1; page <= MAX_EVENT_PAGES; page += 1) {
        const { data } = await call(
          'GET',
          `/organizers/${organizerId}/events?per_page=${EVENTS_PER_PAGE}&page=${page}`,
          { as, schema: EventPage, tries: 2 },
        );
        const found = data.data.find((event) =>
          event.attributes?.some(
            (attribute) =>
              attribute.name === TUVENS_EVENT_ATTRIBUTE && String(attribute.value) === String(tuvensEventId),
          ),
        );
        if (found) return found;
        if (page >= (data.meta?.last_page ?? 1) || data.data.length === 0) return undefined;
      }
      return undefined;
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
        const response = await fetchImpl(`${hiEvents.apiUrl}/auth/logout`, {
          method: 'POST',
          headers: { accept: 'application/json', authorization: `Bearer ${token}` },
          redirect: 'manual',
          signal: AbortSignal.timeout(hiEvents.timeoutMs),
        });
        await response.body?.cancel();
        // `LogoutAction` answers 200; a token already expired or signed out is refused, which is as good.
        return response.status < 500;
      } catch {
        // The token still expires on its own; signing out of the connector must not wait on Hi.Events.
        return false;
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
