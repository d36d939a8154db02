import {
  CHANGES_SEEN_HEADER,
  CLIENT_ADDRESS_HEADER,
  type CreateEventRequest,
  ErrorBody,
  EventList,
  EventWithHiEvents,
  GenerateSessionResponse,
  LoginResponse,
  MeResponse,
  parseChangeCursor,
  WEB_SECRET_HEADER,
} from '@tuvens/contracts';
import { getRequestEvent } from '$app/server';
import { serverConfig } from './config.ts';

/**
 * Server-side calls to tuvens-api. Each answers a value, never throws for an expected outcome:
 * the API's own error code and message, or `api_unreachable` when it could not be asked.
 */

export type ApiResult<T> =
  | { ok: true; data: T; headers: Headers }
  | { ok: false; status: number; code: string; message: string };

const API_TIMEOUT_MS = 5_000;

/** The part of a contract schema used here: answers are parsed, never trusted as they come. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

interface CallOptions<T> {
  method?: 'GET' | 'POST';
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
  schema: Schema<T>;
}

/**
 * The headers that tell tuvens-api whose request this is: the browser's address (adapter-node's
 * `getClientAddress`, which follows `ADDRESS_HEADER`/`XFF_DEPTH` behind a proxy) and this server's
 * secret vouching for it, so that rate limits and stream caps count each browser, not this server.
 */
export function clientHeaders(): Record<string, string> {
  let address: string | undefined;
  try {
    address = getRequestEvent().getClientAddress();
  } catch {
    // Outside a request (start-up checks) there is no browser to speak for.
  }
  if (!address) return {};
  return { [CLIENT_ADDRESS_HEADER]: address, [WEB_SECRET_HEADER]: serverConfig.webApiSecret };
}

async function callApi<T>(path: string, options: CallOptions<T>): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...clientHeaders(),
    ...options.headers,
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${serverConfig.apiInternalUrl}${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      redirect: 'error',
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch {
    return { ok: false, status: 503, code: 'api_unreachable', message: 'Tuvens could not be reached' };
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) {
    const parsed = options.schema.safeParse(body);
    if (parsed.success) return { ok: true, data: parsed.data, headers: response.headers };
    return {
      ok: false,
      status: 502,
      code: 'bad_api_answer',
      message: 'Tuvens answered something unexpected',
    };
  }
  const error = ErrorBody.safeParse(body);
  return {
    ok: false,
    status: response.status,
    code: error.success ? error.data.error.code : 'api_error',
    message: error.success ? error.data.error.message : `Tuvens answered ${response.status}`,
  };
}

export function login(email: string, password: string): Promise<ApiResult<LoginResponse>> {
  return callApi('/api/auth/login', { method: 'POST', body: { email, password }, schema: LoginResponse });
}

/** Nothing to read from an answer but its status. */
const NO_BODY: Schema<undefined> = { safeParse: () => ({ success: true, data: undefined }) };

/** Ends the sign-in at tuvens-api, so that the token stops working there too, not only in this browser. */
export function logout(token: string): Promise<ApiResult<undefined>> {
  return callApi('/api/auth/logout', { method: 'POST', token, schema: NO_BODY });
}

export function fetchViewer(token: string): Promise<ApiResult<MeResponse>> {
  return callApi('/api/auth/me', { token, schema: MeResponse });
}

/** Statuses as of an answer, and the newest change the answer reflects (see `CHANGES_SEEN_HEADER`). */
export interface WithChangesSeen<T> {
  readonly value: T;
  /** Open the updates stream after this change (`p12` or `12`); undefined when tuvens-api did not say. */
  readonly changesSeen: string | undefined;
}

function withChangesSeen<T>(result: ApiResult<T>): ApiResult<WithChangesSeen<T>> {
  if (!result.ok) return result;
  const header = result.headers.get(CHANGES_SEEN_HEADER);
  const changesSeen = header !== null && parseChangeCursor(header) ? header : undefined;
  return { ...result, data: { value: result.data, changesSeen } };
}

export async function listEvents(
  token: string | undefined,
): Promise<ApiResult<WithChangesSeen<EventWithHiEvents[]>>> {
  const result = withChangesSeen(await callApi('/api/events', { token, schema: EventList }));
  return result.ok ? { ...result, data: { ...result.data, value: result.data.value.events } } : result;
}

export async function getEvent(
  id: number,
  token: string | undefined,
): Promise<ApiResult<WithChangesSeen<EventWithHiEvents>>> {
  return withChangesSeen(await callApi(`/api/events/${id}`, { token, schema: EventWithHiEvents }));
}

export function createEvent(
  token: string,
  event: Pick<CreateEventRequest, 'title' | 'starts_at' | 'ends_at'>,
): Promise<ApiResult<EventWithHiEvents>> {
  return callApi('/api/events', { method: 'POST', token, body: event, schema: EventWithHiEvents });
}

/** Turns an event's ticketing off (docs/contract.md#ticketing-cancel); answers the event after it. */
export function turnOffTicketing(token: string, eventId: number): Promise<ApiResult<EventWithHiEvents>> {
  return callApi(`/api/events/${eventId}/ticketing/cancel`, {
    method: 'POST',
    token,
    schema: EventWithHiEvents,
  });
}

/**
 * Asks tuvens-api for a single-use cross-app session that signs the user in to Hi.Events for one
 * event, bound to the PKCE challenge of the browser that started the sign-in.
 */
export function generateSession(
  token: string,
  eventId: number,
  codeChallenge: string,
): Promise<ApiResult<GenerateSessionResponse>> {
  return callApi('/api/cross-app/generate-session', {
    method: 'POST',
    token,
    body: { eventId, appId: 'hi-events', codeChallenge },
    schema: GenerateSessionResponse,
  });
}
