/** A keep-alive HTTP client for loopback servers, and the organizer's first steps. */

import http from 'node:http';
import { DEMO_ORGANIZER } from './setup.ts';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function assertLoopback(url: string): URL {
  const parsed = new URL(url);
  const host = parsed.hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to send load to ${host}: the bench only targets loopback`);
  }
  return parsed;
}

/** A keep-alive HTTP/1.1 client for one loopback origin: the lightest way to drive a server from Node. */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = assertLoopback(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
      const request = http.request(
        { host: this.#host, port: this.#port, method, path, headers, agent: this.#agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          response.on('error', reject);
        },
      );
      request.setTimeout(options.timeoutMs ?? 30_000, () => request.destroy(new Error(`${path}: timed out`)));
      request.on('error', reject);
      request.end(options.body);
    });
  }

  /** Sends JSON; throws unless the answer has the expected status; answers the parsed body. */
  async json<T>(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
    expectStatus = 200,
  ): Promise<T> {
    const answer = await this.request(method, path, {
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status !== expectStatus) {
      throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    return JSON.parse(answer.body) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * What "Enable ticketing" asks of tuvens-api before Hi.Events may link an event: a cross-app session
 * for it, issued to its organizer. The session itself is not used.
 */
export async function enableTicketing(client: HttpClient, jwt: string, eventId: number): Promise<void> {
  await client.json(
    'POST',
    '/api/cross-app/generate-session',
    { eventId, appId: 'hi-events' },
    { authorization: `Bearer ${jwt}` },
    200,
  );
}

/**
 * Signs the demo organizer in and answers the JWT and the id of an event they manage, whose ticketing
 * they have enabled (so that status webhooks may link it).
 */
export async function signInOrganizer(client: HttpClient): Promise<{ jwt: string; eventId: number }> {
  const { token } = await client.json<{ token: string }>('POST', '/api/auth/login', DEMO_ORGANIZER);
  const auth = { authorization: `Bearer ${token}` };
  const answer = await client.request('GET', '/api/events', { headers: auth });
  const parsed = JSON.parse(answer.body) as unknown;
  const events = (Array.isArray(parsed) ? parsed : (parsed as { events: unknown[] }).events) as {
    id: number;
    can_manage_ticketing?: boolean;
  }[];
  const event = events.find((candidate) => candidate.can_manage_ticketing !== false);
  if (!event) throw new Error('the demo organizer manages no event');
  await enableTicketing(client, token, event.id);
  return { jwt: token, eventId: event.id };
}

/** Creates events owned by the demo organizer with their ticketing enabled, for scenarios that need many. */
export async function createEvents(client: HttpClient, jwt: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  const start = Date.now() + 30 * 24 * 3_600_000;
  for (let index = 0; index < count; index++) {
    const event = await client.json<{ id: number }>(
      'POST',
      '/api/events',
      {
        title: `Bench event ${index + 1}`,
        starts_at: new Date(start + index * 3_600_000).toISOString(),
        ends_at: new Date(start + (index + 2) * 3_600_000).toISOString(),
      },
      { authorization: `Bearer ${jwt}` },
      201,
    );
    await enableTicketing(client, jwt, event.id);
    ids.push(event.id);
  }
  return ids;
}
