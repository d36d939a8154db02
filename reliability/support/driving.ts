/** Driving the system over HTTP, as the web app, a browser and an organizer in Hi.Events do. */

import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
  body: any;
  text: string;
  headers: Headers;
}

export async function sendHttp(
  url: string,
  method: string,
  {
    body,
    headers = {},
    timeoutMs = 15_000,
  }: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

export async function login(apiUrl: string, email: string): Promise<string> {
  const answer = await sendHttp(`${apiUrl}/api/auth/login`, 'POST', {
    body: { email, password: 'tuvens-demo' },
  });
  if (answer.status !== 200) throw new Error(`login of ${email} answered ${answer.status}: ${answer.text}`);
  return answer.body.token as string;
}

const HOUR_MS = 60 * 60 * 1000;

/** A new Tuvens event two weeks ahead, created by the organizer over HTTP; answers its id. */
export async function createTuvensEvent(
  apiUrl: string,
  jwt: string,
  {
    title = 'Reliability concert',
    visibility = 'public' as 'public' | 'private',
    startsAt = new Date(),
  } = {},
): Promise<number> {
  const start = new Date(startsAt.getTime() + 14 * 24 * HOUR_MS);
  const answer = await sendHttp(`${apiUrl}/api/events`, 'POST', {
    body: {
      title,
      visibility,
      starts_at: start.toISOString(),
      ends_at: new Date(start.getTime() + 3 * HOUR_MS).toISOString(),
    },
    headers: { authorization: `Bearer ${jwt}` },
  });
  if (answer.status !== 201) throw new Error(`creating an event answered ${answer.status}: ${answer.text}`);
  return answer.body.id as number;
}

/**
 * The cross-app session "Enable ticketing" asks tuvens-api for (bound to `codeChallenge` when given);
 * answers its token. Until one is issued for an event, no status webhook may link it.
 */
export async function generateSession(
  apiUrl: string,
  jwt: string,
  tuvensEventId: number,
  codeChallenge?: string,
): Promise<string> {
  const generated = await sendHttp(`${apiUrl}/api/cross-app/generate-session`, 'POST', {
    body: { eventId: tuvensEventId, appId: 'hi-events', codeChallenge },
    headers: { authorization: `Bearer ${jwt}` },
  });
  if (generated.status !== 200) throw new Error(`generate-session answered ${generated.status}`);
  return generated.body.session_token as string;
}

export interface Handshake {
  tuvensEventId: number;
  hiEventsEventId: number;
  /** The Hi.Events API token the sign-in put in the `token` cookie. */
  hiEventsToken: string;
  /** Tries it took, across failures (each try with a fresh session token). */
  tries: number;
}

/**
 * The whole "Enable ticketing" handshake: the web app's server route asks tuvens-api for a session
 * token, and the landing page posts it to the connector. Each try uses a fresh token, as a person
 * pressing the button again would; tries go on until one succeeds or `maxTries` is reached, unless
 * `worthTrying` throws first.
 */
export async function enableTicketing(
  system: { apiUrl: string; connectorUrl: string },
  jwt: string,
  tuvensEventId: number,
  {
    maxTries = 1,
    pauseMs = 250,
    worthTrying = () => {},
  }: { maxTries?: number; pauseMs?: number; worthTrying?: () => void } = {},
): Promise<Handshake> {
  let lastProblem = '';
  for (let tries = 1; tries <= maxTries; tries++) {
    worthTrying();
    try {
      // As a browser does it: the connector starts the sign-in and keeps its state and verifier in a
      // cookie; the web app asks for a session bound to the challenge; the landing posts the token.
      const started = await sendHttp(
        `${system.connectorUrl}/auth/cross-app/start?event_id=${tuvensEventId}`,
        'GET',
      );
      if (started.status !== 303) throw new Error(`/auth/cross-app/start answered ${started.status}`);
      const authorize = new URL(started.headers.get('location') ?? '');
      const stateCookie = started.headers
        .getSetCookie()
        .find((line) => line.startsWith('tuvens_cross_app_state='))
        ?.split(';')[0];
      if (!stateCookie) throw new Error('/auth/cross-app/start set no state cookie');
      const sessionToken = await generateSession(
        system.apiUrl,
        jwt,
        tuvensEventId,
        authorize.searchParams.get('code_challenge') ?? undefined,
      );
      const signedIn = await sendHttp(`${system.connectorUrl}/auth/cross-app/validate`, 'POST', {
        body: {
          session_token: sessionToken,
          event_id: String(tuvensEventId),
          state: authorize.searchParams.get('state'),
        },
        headers: { origin: new URL(system.connectorUrl).origin, cookie: stateCookie },
        timeoutMs: 30_000,
      });
      if (signedIn.status !== 200) throw new Error(`sign-in answered ${signedIn.status}: ${signedIn.text}`);
      const cookie = signedIn.headers.getSetCookie().find((line) => line.startsWith('token='));
      const hiEventsToken = cookie?.slice('token='.length).split(';')[0];
      if (!hiEventsToken) throw new Error('sign-in set no Hi.Events token cookie');
      return { tuvensEventId, hiEventsEventId: signedIn.body.hi_events_event_id, hiEventsToken, tries };
    } catch (error) {
      lastProblem = (error as Error).message;
      if (tries < maxTries) await sleep(pauseMs);
    }
  }
  throw new Error(`enabling ticketing for event ${tuvensEventId} failed ${maxTries} times: ${lastProblem}`);
}

/** What an organizer does in Hi.Events: publish, pause or archive the event through its API. */
export async function setHiEventsStatus(
  hiEventsUrl: string,
  event: Pick<Handshake, 'hiEventsEventId' | 'hiEventsToken'>,
  status: 'LIVE' | 'DRAFT' | 'ARCHIVED',
): Promise<void> {
  const answer = await sendHttp(`${hiEventsUrl}/api/events/${event.hiEventsEventId}/status`, 'PUT', {
    body: { status },
    headers: { authorization: `Bearer ${event.hiEventsToken}` },
  });
  if (answer.status !== 200)
    throw new Error(`Hi.Events status change answered ${answer.status}: ${answer.text}`);
}
