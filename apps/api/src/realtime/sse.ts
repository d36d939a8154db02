import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  type ChangeCursor,
  type ChangeNumbering,
  ErrorBody,
  EVENT_UPDATES_PATH,
  EventIdsFilter,
  formatChangeCursor,
  LastEventId,
  STREAM_READY_EVENT,
  type StreamReady,
} from '@tuvens/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { listMemberships } from '../accounts/memberships.ts';
import { optionalViewer, type Viewer } from '../auth/authenticate.ts';
import type { ApiConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import type { App, AppContext } from '../http/context.ts';
import {
  latestChangeId,
  latestVisibleChangeId,
  numberingFor,
  translateCursor,
} from '../ticketing/change-log.ts';
import { ChangeHub, type ChangeMessage, type ChangeSubscriber } from './hub.ts';
import { SharedReplay } from './replay.ts';

/** Clients wait this long, plus up to `RETRY_JITTER_MS`, before reconnecting, so a restart does not bring them all back at once. */
const RETRY_MS = 1_000;
const RETRY_JITTER_MS = 2_000;
const HEARTBEAT_INTERVAL_MS = 15_000;
/**
 * A client that still has more unsent bytes than this when new changes come is too slow: its stream
 * ends, and it resumes from `Last-Event-ID`. Judged once per batch of changes, so that a burst written
 * in one go does not count against a client that keeps up.
 */
const MAX_UNSENT_BYTES = 64 * 1024;
/** Live changes held for a client while its replay runs; beyond this it is ended like a slow client. */
const MAX_HELD_CHANGES = 1_000;
const REPLAY_PAGE_SIZE = 200;
/** How long an ended stream may take to flush before its connection is cut. */
const END_GRACE_MS = 1_000;

const HEARTBEAT = Buffer.from(': keep-alive\n\n');
const NO_ACCOUNTS: ReadonlySet<number> = new Set();

const UpdatesQuery = z.object({
  eventIds: EventIdsFilter.optional().describe('Only these events, e.g. 1,2 (at most 100)'),
  lastEventId: LastEventId.optional().describe(
    'For clients that cannot send Last-Event-ID: resume after this id',
  ),
});
const UpdatesHeaders = z.object({
  'last-event-id': LastEventId.optional().describe(
    'Resume after this change, p12 or 12 (sent by EventSource on reconnect)',
  ),
});

/**
 * `GET /api/events/updates`: ticketing changes as Server-Sent Events (docs/contract.md#sse). Anyone may
 * listen to public events; a request with a bearer token also hears the private events of the user's
 * accounts. Streams end when the app closes, so clients reconnect to another instance.
 */
export async function registerEventUpdates(app: App, ctx: AppContext): Promise<void> {
  const hubs: Record<ChangeNumbering, ChangeHub> = {
    log: await ChangeHub.start(ctx.database, { log: app.log, numbering: 'log' }),
    public: await ChangeHub.start(ctx.database, { log: app.log, numbering: 'public' }),
  };
  const replay = new SharedReplay(ctx.db);
  const streams = new Set<EventStream>();
  const caps = new StreamCaps(ctx.config.sse);
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.heartbeat();
  }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  const accessCheck = setInterval(() => {
    endStreamsWhoseAccessChanged(ctx, streams).catch((error: unknown) =>
      app.log.error({ err: error }, 'checking the access of signed-in streams failed'),
    );
  }, ctx.config.sse.accessCheckIntervalSeconds * 1000);
  accessCheck.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    clearInterval(accessCheck);
    for (const stream of streams) stream.end();
  });
  app.addHook('onClose', () => Promise.all([hubs.log.stop(), hubs.public.stop()]).then(ignore));
  dropUnusedConnectionsOnClose(app);

  app.get(
    EVENT_UPDATES_PATH,
    {
      // Helmet's headers guard documents; a stream needs only nosniff (set below), and every header
      // is kept in memory for the life of each of many connections.
      helmet: false,
      schema: {
        tags: ['events'],
        summary: 'Live ticketing changes (text/event-stream), replayed after Last-Event-ID',
        description: [
          'Each change is one message without an `event:` field: `data:` is a `ticketing_status_changed` or',
          '`ticket_summary_changed` object, and `id:` its number: `p12` (the 12th of all public events’',
          'changes) on streams that carry only public events, the change-log id (`12`) on streams signed by',
          'a member of an account, the only ones that also carry its private events. The stream opens with',
          '`retry:`, replays every change after `Last-Event-ID` (or `?lastEventId=`), then sends one `ready`',
          'event whose `id:` is where it stands, then live changes; a comment line keeps it alive every 15 s.',
          'A malformed `eventIds` or `Last-Event-ID` is a 400.',
        ].join(' '),
        querystring: UpdatesQuery,
        headers: UpdatesHeaders,
        response: { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const viewer = await optionalViewer(ctx, request);
      const accountIds = viewer
        ? new Set((await listMemberships(ctx.db, viewer.user.id)).map((account) => account.id))
        : NO_ACCOUNTS;
      const release = caps.admit(request.clientAddress, viewer?.user.id);
      // A stream is silent between heartbeats by design; the connection timeout is for other requests.
      request.raw.socket.setTimeout(0);
      const hub = hubs[numberingFor(accountIds)];
      const stream = new EventStream(openStream(reply), {
        eventIds: request.query.eventIds ?? null,
        viewer,
        accountIds,
        onClose: () => {
          release();
          streams.delete(stream);
          hub.unsubscribe(stream);
          ctx.metrics.sseConnections.dec();
        },
        onSent: () => ctx.metrics.sseMessages.inc(),
      });
      streams.add(stream);
      ctx.metrics.sseConnections.inc();
      // The sign-in it was opened with stops working then; so does the stream.
      if (viewer) stream.endAt(viewer.expiresAt.getTime() - ctx.clock().getTime());

      const position = hub.subscribe(stream);
      try {
        await stream.catchUp(
          ctx,
          replay,
          position,
          request.headers['last-event-id'] ?? request.query.lastEventId,
        );
      } catch (error) {
        request.log.error({ err: error }, 'replaying ticketing changes failed');
        stream.end();
      }
    },
  );
}

/**
 * Ends every signed-in stream whose viewer has signed out, changed their password or been deleted,
 * or whose memberships differ from those it was opened with: its client reconnects and is then
 * given what it may see now. One read for all the streams of an instance.
 */
async function endStreamsWhoseAccessChanged(
  ctx: AppContext,
  streams: ReadonlySet<EventStream>,
): Promise<void> {
  const signedIn = [...streams].filter((stream) => stream.viewer !== undefined);
  if (signedIn.length === 0) return;
  const userIds = [...new Set(signedIn.map((stream) => stream.viewer!.user.id))];
  const [users, memberships] = await Promise.all([
    ctx.db.selectFrom('users').select(['id', 'token_version']).where('id', 'in', userIds).execute(),
    ctx.db
      .selectFrom('account_members')
      .select(['user_id', 'account_id'])
      .where('user_id', 'in', userIds)
      .execute(),
  ]);
  const versions = new Map(users.map((user) => [user.id, user.token_version]));
  const accounts = new Map<number, Set<number>>();
  for (const { user_id, account_id } of memberships) {
    const set = accounts.get(user_id) ?? new Set<number>();
    set.add(account_id);
    accounts.set(user_id, set);
  }
  for (const stream of signedIn) {
    const { user, tokenVersion } = stream.viewer!;
    const now = accounts.get(user.id) ?? new Set<number>();
    const same =
      versions.get(user.id) === tokenVersion &&
      stream.viewer!.expiresAt.getTime() > ctx.clock().getTime() &&
      now.size === stream.accountIds.size &&
      [...now].every((accountId) => stream.accountIds.has(accountId));
    if (!same) stream.end();
  }
}

/**
 * How many streams are open, in all and per client address and signed-in user. Every stream holds a
 * connection, a file descriptor and buffers for as long as its client likes, so one client opening
 * thousands would exhaust them for everybody: beyond a client's or a user's share a new stream is a
 * 429, and beyond the instance's total a 503 (clients retry another instance, or later).
 *
 * All three are counted per instance, on purpose (docs/architecture.md#rate-limits): what they guard
 * is this instance's descriptors and memory, which no other instance's count says anything about. A
 * client spread over n instances may hold n shares, as n instances carry n totals; a stream reveals
 * nothing a guesser could use, so more of them gain an attacker no guesses. Shared counts would cost
 * writes per stream and leases renewed while it lives, and a crashed instance's leases would refuse
 * its own clients reconnecting elsewhere until they lapsed, in the middle of a reconnect storm.
 */
class StreamCaps {
  readonly #limits: ApiConfig['sse'];
  #total = 0;
  readonly #perClient = new Map<string, number>();
  readonly #perUser = new Map<number, number>();

  constructor(limits: ApiConfig['sse']) {
    this.#limits = limits;
  }

  /** Counts a new stream in, or throws the refusal; answers the function that counts it out again. */
  admit(clientAddress: string, userId: number | undefined): () => void {
    if (this.#total >= this.#limits.maxStreams) {
      throw new AppError('service_unavailable', 'Too many live update streams are open; try again later');
    }
    if ((this.#perClient.get(clientAddress) ?? 0) >= this.#limits.maxStreamsPerClient) {
      throw new AppError('rate_limited', 'Too many live update streams from this address; close some first');
    }
    if (userId !== undefined && (this.#perUser.get(userId) ?? 0) >= this.#limits.maxStreamsPerUser) {
      throw new AppError('rate_limited', 'Too many live update streams for this sign-in; close some first');
    }
    this.#total++;
    increment(this.#perClient, clientAddress, 1);
    if (userId !== undefined) increment(this.#perUser, userId, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      increment(this.#perClient, clientAddress, -1);
      if (userId !== undefined) increment(this.#perUser, userId, -1);
    };
  }
}

function increment<Key>(counts: Map<Key, number>, key: Key, by: number): void {
  const count = (counts.get(key) ?? 0) + by;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}

/**
 * Node's `server.close()` waits for every connection without a finished request, even one that never
 * sent a byte (a browser's preconnect, a client's spare socket), until its headers timeout: a minute.
 * Dropping those at shutdown lets their clients go to another instance at once.
 */
function dropUnusedConnectionsOnClose(app: App): void {
  const connections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  });
}

/** Takes the response over from Fastify and starts the event stream on it. */
function openStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const response = reply.raw;
  // A hijacked reply skips Fastify's onSend, so headers that hooks set on the reply (CORS among them)
  // are copied over here.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) response.setHeader(name, value);
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
    // A reconnecting EventSource makes a new request anyway; an ended stream takes its connection along,
    // so a shutdown is not held up by connections left idle.
    connection: 'close',
  });
  // A client that vanishes mid-write is dealt with by 'close'; the error itself needs nothing more.
  response.on('error', ignore);
  response.write(`retry: ${RETRY_MS + Math.floor(Math.random() * RETRY_JITTER_MS)}\n\n`);
  return response;
}

/** One client's stream: replay first while live changes wait, then live changes as they come. */
class EventStream implements ChangeSubscriber {
  readonly eventIds: readonly number[] | null;
  /** Who opened it, when signed in. */
  readonly viewer: Viewer | undefined;
  /** The accounts whose private events it carries, as they were when it opened. */
  readonly accountIds: ReadonlySet<number>;
  /** How its ids number the changes: publicly when it carries no private event. */
  readonly numbering: ChangeNumbering;
  readonly #response: ServerResponse;
  #expiry: NodeJS.Timeout | undefined;
  readonly #onSent: () => void;
  /** The number of the last change this client has been given or has no need of. */
  #cursor = 0;
  /** Live changes that arrive during the replay; null once live. */
  #held: ChangeMessage[] | null = [];
  /** The batch of changes whose first one was last sent. */
  #batch = -1;
  #closed = false;

  constructor(
    response: ServerResponse,
    options: {
      eventIds: number[] | null;
      viewer: Viewer | undefined;
      accountIds: ReadonlySet<number>;
      onClose: () => void;
      /** Told of each change written to this client, for the metrics. */
      onSent: () => void;
    },
  ) {
    this.#response = response;
    this.#onSent = options.onSent;
    this.eventIds = options.eventIds;
    this.viewer = options.viewer;
    this.accountIds = options.accountIds;
    this.numbering = numberingFor(options.accountIds);
    response.once('close', () => {
      this.#closed = true;
      this.#held = null;
      clearTimeout(this.#expiry);
      options.onClose();
    });
  }

  /**
   * Replays the changes after `resumeFrom` up to `position` (where the hub stood when this stream
   * subscribed, so live changes start right after it), marks where the stream stands, then sends the
   * changes held meanwhile: no gap and no repeat. A cursor of the other numbering (the viewer signed
   * in, or joined or left an account) is translated into this stream's first.
   */
  async catchUp(
    ctx: AppContext,
    replay: SharedReplay,
    position: number,
    resumeFrom: ChangeCursor | undefined,
  ): Promise<void> {
    const numbering = this.numbering;
    const lastEventId = resumeFrom && (await translateCursor(ctx.db, resumeFrom, numbering));
    if (!this.#isOpen()) return;
    this.#cursor = position;
    if (lastEventId !== undefined && lastEventId > position) {
      // Another instance may be ahead of this one; an id beyond the whole log comes from a reset database.
      this.#cursor = Math.min(lastEventId, await latestChangeId(ctx.db, numbering));
    }
    let after = lastEventId ?? position;
    while (after < position && this.#isOpen()) {
      // Streams resuming alike after a restart share one read (realtime/replay.ts).
      const page = await replay.read({
        numbering,
        after,
        upTo: position,
        eventIds: this.eventIds,
        accountIds: [...this.accountIds],
        limit: REPLAY_PAGE_SIZE,
      });
      if (!this.#isOpen()) return;
      if (page.count > 0 && !this.#response.write(page.frames)) await drained(this.#response);
      after = page.count === REPLAY_PAGE_SIZE ? page.lastId! : position;
    }

    // Where the stream stands, as this viewer may know it: the newest change they may see (or the
    // number they resumed from, which they know already), never the newest of all, which would count
    // private events' changes.
    const visible = await latestVisibleChangeId(ctx.db, {
      numbering,
      accountIds: [...this.accountIds],
      upTo: this.#cursor,
    });
    const readyId = formatChangeCursor({
      numbering,
      id: Math.min(this.#cursor, Math.max(visible, lastEventId ?? 0)),
    });
    const ready: StreamReady = { type: 'ready' };
    this.#write(`event: ${STREAM_READY_EVENT}\nid: ${readyId}\ndata: ${JSON.stringify(ready)}\n\n`, true);
    const held = this.#held ?? [];
    this.#held = null;
    for (const message of held) this.#send(message, false);
  }

  deliver(message: ChangeMessage): void {
    if (!message.isPublic && !this.accountIds.has(message.accountId)) return;
    if (this.#held === null) {
      this.#send(message, message.batch !== this.#batch);
    } else if (this.#held.length < MAX_HELD_CHANGES) {
      this.#held.push(message);
    } else {
      this.#response.destroy();
    }
  }

  /** Ends the stream after `delayMs`. */
  endAt(delayMs: number): void {
    clearTimeout(this.#expiry);
    // setTimeout takes at most 2^31-1 ms; a sign-in valid longer than 24 days is ended by the access check.
    this.#expiry = setTimeout(() => this.end(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    this.#expiry.unref();
  }

  heartbeat(): void {
    if (this.#held === null) this.#write(HEARTBEAT, true);
  }

  end(): void {
    if (!this.#isOpen()) return;
    this.#response.end();
    // A client that has stopped reading would otherwise hold the connection open, and shutdown with it.
    setTimeout(() => this.#response.destroy(), END_GRACE_MS).unref();
  }

  #send(message: ChangeMessage, checkBacklog: boolean): void {
    if (message.id <= this.#cursor) return;
    this.#cursor = message.id;
    this.#batch = message.batch;
    this.#write(message.frame, checkBacklog);
    this.#onSent();
  }

  #write(chunk: Buffer | string, checkBacklog: boolean): void {
    if (!this.#isOpen()) return;
    if (checkBacklog && this.#response.writableLength > MAX_UNSENT_BYTES) {
      this.#response.destroy();
      return;
    }
    this.#response.write(chunk);
  }

  #isOpen(): boolean {
    return !this.#closed && !this.#response.writableEnded && !this.#response.destroyed;
  }
}

function ignore(): void {}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
