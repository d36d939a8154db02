import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { checkTransition, type TicketingStatus } from '@tuvens/contracts';
import pg from 'pg';
import {
  ANNOUNCE_CHANGE_SQL,
  APPLY_CHANGE_SQL,
  CREATE_MANAGED_SESSION_SQL,
  LAST_CHANGE_FOR_LINK_SQL,
  READ_EVENT_FOR_CHANGE_SQL,
  SESSION_ISSUED_FOR_LINK_SQL,
  SIGNED_IN_USER_SQL,
  VALIDATE_SESSION_SQL,
} from './same-work-sql.ts';

/**
 * The handshake's and the webhook's ceiling: a bare `node:http` + `pg` server doing exactly the
 * cryptography and the statements of tuvens-api for one generate-session, one validate-session and
 * one applied status webhook, and nothing else: no framework, no schema validation, no rate limiter,
 * no metrics, no logging. Its statements are the API's own text (bench/same-work-sql.ts), run as named
 * prepared statements on a pool of 10 as the API runs them; bench/ceilings.ts checks that its effects
 * on the database equal the API's. Only the applied path of a webhook is here: any other outcome is a 500.
 *
 * Environment: DATABASE_URL, JWT_SECRET, CROSS_APP_SHARED_SECRET, HI_EVENTS_SHARED_SECRET.
 */

const ISSUER = 'tuvens-api';
const AUDIENCE = 'tuvens';
const SESSION_EXPIRY_S = 900;
const SESSION_MAX_LIFETIME_S = 12 * 60 * 60;
const MANAGER_ROLES = ['owner', 'admin'] as const;
const CHANGE_CHANNEL = 'ticketing_status_changes';
const WEBHOOK_TOLERANCE_S = 5 * 60;

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const jwtKey = Buffer.from(env('JWT_SECRET'));
const sharedSecret = env('CROSS_APP_SHARED_SECRET');
const webhookKey = Buffer.from(env('HI_EVENTS_SHARED_SECRET'));

pg.types.setTypeParser(20, (value: string) => Number(value));
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
pool.on('error', () => {});

let statementCount = 0;
const statementNames = new Map<string, string>();
/** As the API does: each text a named prepared statement, parsed once per connection. */
function query<Row extends pg.QueryResultRow>(text: string, values: unknown[]) {
  let name = statementNames.get(text);
  if (!name) {
    name = `bare_${++statementCount}`;
    statementNames.set(text, name);
  }
  return pool.query<Row>({ name, text, values });
}

const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** HS256 with our key, issuer and audience, unexpired: the user id, or undefined. */
function verifyJwt(token: string, nowS: number): { userId: number; tokenVersion: number } | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const expected = createHmac('sha256', jwtKey).update(`${header}.${payload}`).digest();
  const presented = Buffer.from(signature, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
  if ((JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string }).alg !== 'HS256') {
    return undefined;
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    sub?: string;
    iss?: string;
    aud?: string | string[];
    exp?: number;
    ver?: number;
  };
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== ISSUER || !audiences.includes(AUDIENCE) || !(Number(claims.exp) > nowS))
    return undefined;
  const userId = Number(claims.sub);
  const tokenVersion = claims.ver ?? 0;
  return Number.isSafeInteger(userId) && userId > 0 && Number.isSafeInteger(tokenVersion)
    ? { userId, tokenVersion }
    : undefined;
}

/** Standard Webhooks: a v1 HMAC-SHA256 of `id.timestamp.body` with the secret's bytes, within the tolerance. */
function verifyStandardWebhook(body: Buffer, headers: http.IncomingHttpHeaders, nowS: number): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^[0-9]{1,12}$/.test(timestamp) || Math.abs(nowS - Number(timestamp)) > WEBHOOK_TOLERANCE_S)
    return false;
  const expected = createHmac('sha256', webhookKey).update(`${id}.${timestamp}.`).update(body).digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    const presented = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}

function audit(now: Date, ip: string | null, userAgent: string | null) {
  return { now, ip, userAgent: userAgent?.slice(0, 512) ?? null };
}

async function generateSession(request: http.IncomingMessage, body: Buffer) {
  const now = new Date();
  const bearer = request.headers.authorization?.split(' ');
  const claims =
    bearer?.[0]?.toLowerCase() === 'bearer' && bearer[1]
      ? verifyJwt(bearer[1], Math.floor(now.getTime() / 1000))
      : undefined;
  if (claims === undefined) return { status: 401, body: { code: 'unauthorized' } };
  // A token issued before the user signed out or changed their password no longer counts.
  const { rows: users } = await query<{ token_version: number }>(SIGNED_IN_USER_SQL, [claims.userId]);
  if (users[0]?.token_version !== claims.tokenVersion) return { status: 401, body: { code: 'unauthorized' } };
  const { userId } = claims;
  const { eventId, appId } = JSON.parse(body.toString()) as { eventId: number; appId: string };
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_EXPIRY_S * 1000);
  const origin = audit(now, request.socket.remoteAddress ?? null, request.headers['user-agent'] ?? null);
  const { rows } = await query(CREATE_MANAGED_SESSION_SQL, [
    sha256Hex(token),
    userId,
    appId,
    eventId,
    expiresAt,
    now,
    null,
    null,
    null,
    null,
    userId,
    eventId,
    ...MANAGER_ROLES,
    now,
    'cross_app.session.generate',
    'success',
    'user',
    userId,
    null,
    eventId,
    origin.ip,
    origin.userAgent,
    JSON.stringify({ appId, bound: false }),
  ]);
  if (!rows[0]) return { status: 500, body: { code: 'not_in_the_ceiling' } };
  return { status: 200, body: { session_token: token, expires_at: expiresAt.toISOString() } };
}

interface Subject {
  userId: number;
  event_id: number;
  expiresAt: Date;
  email: string;
  name: string;
  account_id: number;
  account_name: string;
  role: string;
  title: string;
  starts_at: Date;
  ends_at: Date;
  ticketing_status: string;
  hi_events_event_id: number | null;
  allowed: boolean;
}

async function validateSession(request: http.IncomingMessage, body: Buffer) {
  const presented = request.headers['x-shared-secret'];
  if (typeof presented !== 'string' || !safeEqual(presented, sharedSecret)) {
    return { status: 401, body: { code: 'invalid_shared_secret' } };
  }
  const { session_token } = JSON.parse(body.toString()) as { session_token: string };
  const now = new Date();
  const origin = audit(now, request.socket.remoteAddress ?? null, request.headers['user-agent'] ?? null);
  const { rows } = await query<Subject>(VALIDATE_SESSION_SQL, [
    now,
    now,
    new Date(now.getTime() + SESSION_EXPIRY_S * 1000),
    SESSION_MAX_LIFETIME_S,
    now,
    sha256Hex(session_token),
    now,
    ...MANAGER_ROLES,
    now,
    'cross_app.session.validate',
    'success',
    'failure',
    'connector',
    'no_longer_allowed',
    origin.ip,
    origin.userAgent,
    '{}',
  ]);
  const row = rows[0];
  if (!row?.allowed) return { status: 500, body: { code: 'not_in_the_ceiling' } };
  return {
    status: 200,
    body: {
      user_data: { id: row.userId, email: row.email, name: row.name },
      account_data: { id: row.account_id, name: row.account_name, role: row.role },
      event: {
        id: row.event_id,
        title: row.title,
        starts_at: row.starts_at.toISOString(),
        ends_at: row.ends_at.toISOString(),
        ticketing_status: row.ticketing_status,
        hi_events_event_id: row.hi_events_event_id,
      },
      expires_at: row.expiresAt.toISOString(),
    },
  };
}

interface EventForChange {
  id: number;
  ticketing_status: TicketingStatus;
  ticketing_updated_at: Date | null;
  hi_events_event_id: number | null;
  hi_events_event_url: string | null;
  contactData: Record<string, unknown>;
  received: boolean;
  version: string;
}

interface StatusWebhookBody {
  id: string;
  occurred_at: string;
  data: {
    tuvens_event_id: number;
    hi_events_event_id: number | null;
    status: TicketingStatus;
    hi_events_event_url: string | null;
    hi_events_status: string | null;
    reason?: string;
  };
}

/** As the API's ChangeAnnouncer: one NOTIFY at a time, those asked for meanwhile folded into the next. */
let greatestChange = 0;
let announcedChange = 0;
let announcing = false;
async function announce(changeId: number): Promise<void> {
  if (changeId <= greatestChange) return;
  greatestChange = changeId;
  if (announcing) return;
  announcing = true;
  try {
    while (announcedChange < greatestChange) {
      const id = greatestChange;
      await query(ANNOUNCE_CHANGE_SQL, [CHANGE_CHANNEL, String(id)]).catch(() => {});
      announcedChange = id;
    }
  } finally {
    announcing = false;
  }
}

async function applyWebhook(request: http.IncomingMessage, body: Buffer) {
  const now = new Date();
  if (!verifyStandardWebhook(body, request.headers, Math.floor(now.getTime() / 1000))) {
    return { status: 401, body: { code: 'invalid_signature' } };
  }
  const webhook = JSON.parse(body.toString()) as StatusWebhookBody;
  const { data } = webhook;
  const occurredAt = new Date(webhook.occurred_at);
  const { rows } = await query<EventForChange>(READ_EVENT_FOR_CHANGE_SQL, [webhook.id, data.tuvens_event_id]);
  const event = rows[0];
  if (!event) return { status: 404, body: { code: 'event_not_found' } };
  const late = event.ticketing_updated_at !== null && occurredAt < event.ticketing_updated_at;
  const transition = checkTransition(event.ticketing_status, data.status);
  if (event.received || late || !transition.ok || !transition.changed) {
    return { status: 500, body: { code: 'not_in_the_ceiling' } };
  }
  if (event.ticketing_status === 'none' && data.status !== 'none') {
    // A first link: accepted only once an organizer enabled ticketing (never turned off, in the ceiling).
    const last = await query<{ source: string; to_status: string }>(LAST_CHANGE_FOR_LINK_SQL, [event.id, 1]);
    const turnedOff = last.rows[0]?.source === 'organizer' && last.rows[0].to_status === 'none';
    const issued = await query(SESSION_ISSUED_FOR_LINK_SQL, [event.id, 1]);
    if (turnedOff || issued.rows.length === 0) return { status: 500, body: { code: 'not_in_the_ceiling' } };
  }

  // The fields as apps/api/src/ticketing/apply-status-change.ts `nextTicketingFields` sets them.
  const linked = data.status !== 'none';
  const hiEventsEventId = linked ? (data.hi_events_event_id ?? event.hi_events_event_id) : null;
  const hiEventsEventUrl = linked ? (data.hi_events_event_url ?? event.hi_events_event_url) : null;
  const hiEventsStatus = linked ? (data.hi_events_status ?? event.contactData.hiEventsStatus) : undefined;
  const { hiEventsEventId: _id, hiEventsStatus: _status, ...otherContactData } = event.contactData;
  const contactData = {
    ...otherContactData,
    ...(hiEventsEventId !== null && { hiEventsEventId }),
    ...(hiEventsStatus !== undefined && { hiEventsStatus }),
    hiEventsLastUpdated: occurredAt.toISOString(),
  };
  const origin = audit(now, request.socket.remoteAddress ?? null, request.headers['user-agent'] ?? null);
  const details = {
    from: event.ticketing_status,
    to: data.status,
    applied: true,
    occurredAt: occurredAt.toISOString(),
    webhookId: webhook.id,
    ...(data.reason !== undefined && { reason: data.reason }),
  };
  const written = await query<{ id: number }>(APPLY_CHANGE_SQL, [
    data.status,
    linked,
    linked,
    hiEventsEventId,
    hiEventsEventId,
    hiEventsEventUrl,
    JSON.stringify(contactData),
    occurredAt,
    now,
    event.id,
    event.version,
    webhook.id,
    now,
    event.id,
    'applied',
    now,
    'ticketing.status_change',
    'success',
    'hi-events',
    null,
    null,
    event.id,
    origin.ip,
    origin.userAgent,
    JSON.stringify(details),
    event.id,
    event.ticketing_status,
    data.status,
    hiEventsEventId,
    hiEventsEventUrl,
    (contactData.hiEventsStatus as string | undefined) ?? null,
    'hi-events',
    webhook.id,
    null,
    data.reason ?? null,
    occurredAt,
    now,
  ]);
  const change = written.rows[0];
  if (!change) return { status: 500, body: { code: 'not_in_the_ceiling' } };
  void announce(change.id);
  return { status: 200, body: { applied: true, status: data.status } };
}

const ROUTES: Record<
  string,
  (request: http.IncomingMessage, body: Buffer) => Promise<{ status: number; body: unknown }>
> = {
  '/api/cross-app/generate-session': generateSession,
  '/api/cross-app/validate-session': validateSession,
  '/api/webhooks/hi-events/event-status-changed': applyWebhook,
};

function main(): void {
  const server = http.createServer((request, response) => {
    const route = request.method === 'POST' ? ROUTES[request.url ?? ''] : undefined;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = route
        ? route(request, Buffer.concat(chunks))
        : Promise.resolve({ status: 404, body: { code: 'not_found' } });
      answer
        .catch((error: unknown) => ({ status: 500, body: { code: 'error', message: String(error) } }))
        .then(({ status, body }) => {
          const json = JSON.stringify(body);
          response.writeHead(status, {
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(json),
          });
          response.end(json);
        });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address === 'object' && address)
      process.send?.({ type: 'same-work:ready', port: address.port });
  });
  process.on('SIGTERM', () => {
    server.close();
    void pool.end().finally(() => process.exit(0));
  });
}

if (import.meta.main) main();
