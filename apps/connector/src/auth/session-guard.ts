import type { Clock } from '@tuvens/server';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { ConnectorConfig } from '../config.ts';
import type { ConnectorDatabase, ConnectorSessionRow } from '../database/schema.ts';
import { openSecret, sealSecret } from '../database/sealed-secrets.ts';
import type { HiEventsAdapter, IssuedToken } from '../hi-events/adapter.ts';
import type { TuvensApiClient } from '../tuvens/tuvens-api.ts';

/**
 * Revocation that reaches Hi.Events. A sign-in gives the person two things: the connector's own
 * session and a Hi.Events token, which Hi.Events honours on its own until it expires. Each token is
 * recorded here with its session; tuvens-api is asked again, on a schedule and whenever the session
 * is used, whether the person may still manage the account (which also fails once Tuvens revoked or
 * expired the cross-app session). When they may not, the connector session ends and every token of
 * it is signed out of Hi.Events (`POST /auth/logout`, jwt-auth's blacklist by `jti`).
 */
export interface SessionGuardDeps {
  db: Kysely<ConnectorDatabase>;
  clock: Clock;
  config: ConnectorConfig;
  hiEvents: HiEventsAdapter;
  tuvens: TuvensApiClient;
  log: FastifyBaseLogger;
}

/** Seals the Tuvens cross-app session token kept with a connector session. */
export function sealSessionToken(config: ConnectorConfig, token: string): string {
  return sealSecret(config.encryptionKeys, token);
}

/** Records a Hi.Events token issued for a connector session, so that it can be signed out later. */
export async function recordIssuedToken(
  deps: Pick<SessionGuardDeps, 'db' | 'config' | 'clock'>,
  connectorSessionId: number,
  issued: IssuedToken,
): Promise<void> {
  await deps.db
    .insertInto('hi_events_tokens')
    .values({
      connector_session_id: connectorSessionId,
      jti: issued.jti,
      sealed_token: sealSecret(deps.config.encryptionKeys, issued.token),
      expires_at: issued.expiresAt,
      revoked_at: null,
      created_at: deps.clock(),
    })
    .execute();
}

/** Ends a connector session and signs each of its live Hi.Events tokens out of Hi.Events. */
export async function endConnectorSession(
  deps: Pick<SessionGuardDeps, 'db' | 'clock' | 'config' | 'hiEvents' | 'log'>,
  connectorSessionId: number,
): Promise<void> {
  const now = deps.clock();
  await deps.db
    .updateTable('connector_sessions')
    .set({ revoked_at: now })
    .where('id', '=', connectorSessionId)
    .where('revoked_at', 'is', null)
    .execute();
  const tokens = await deps.db
    .selectFrom('hi_events_tokens')
    .selectAll()
    .where('connector_session_id', '=', connectorSessionId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
  for (const row of tokens) {
    const token = openSecret(deps.config.encryptionKeys, row.sealed_token);
    // Unsigned out (Hi.Events unreachable), the row stays and the next check tries again.
    if (token && !(await deps.hiEvents.signOut(token))) continue;
    await deps.db
      .updateTable('hi_events_tokens')
      .set({ revoked_at: deps.clock() })
      .where('id', '=', row.id)
      .execute();
  }
}

/**
 * Asks tuvens-api whether the person of a session may still manage its account; ends the session
 * (and its Hi.Events tokens) when not. Answers whether the session is still good. tuvens-api not
 * answering keeps the session: a Tuvens outage must not sign everyone out.
 */
export async function checkConnectorSession(
  deps: SessionGuardDeps,
  session: ConnectorSessionRow,
): Promise<boolean> {
  const sealed = session.tuvens_session_token;
  const token = sealed ? openSecret(deps.config.encryptionKeys, sealed) : undefined;
  const verdict = token
    ? await deps.tuvens.checkAccountPermission(token, session.tuvens_account_id)
    : 'denied';
  if (verdict === 'unreachable') {
    deps.log.warn({ connectorSessionId: session.id }, 'tuvens-api did not answer a session check');
    return true;
  }
  if (verdict === 'allowed') {
    await deps.db
      .updateTable('connector_sessions')
      .set({ checked_at: deps.clock() })
      .where('id', '=', session.id)
      .execute();
    return true;
  }
  deps.log.info(
    { connectorSessionId: session.id, tuvensUserId: session.tuvens_user_id },
    'the person may no longer manage the account, or Tuvens ended the session: signing them out of Hi.Events',
  );
  await endConnectorSession(deps, session.id);
  return false;
}

/** Whether a session is due for a check on use: not confirmed within the interval. */
export function isCheckDue(session: ConnectorSessionRow, config: ConnectorConfig, now: Date): boolean {
  const checkedAt = session.checked_at ?? session.created_at;
  return now.getTime() - checkedAt.getTime() >= config.sessionCheckIntervalSeconds * 1000;
}

export interface SessionGuard {
  /** Checks every live session not confirmed within the interval, and retries unfinished sign-outs. */
  runOnce(): Promise<{ checked: number; ended: number }>;
  start(): void;
  stop(): Promise<void>;
}

const BATCH_SIZE = 100;

export function createSessionGuard(deps: SessionGuardDeps): SessionGuard {
  const intervalMs = deps.config.sessionCheckIntervalSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function runOnce() {
    const now = deps.clock();
    const dueBefore = new Date(now.getTime() - intervalMs);
    const totals = { checked: 0, ended: 0 };
    let after = 0;
    for (;;) {
      const sessions = await deps.db
        .selectFrom('connector_sessions')
        .selectAll()
        .where('id', '>', after)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where((eb) =>
          eb.or([
            eb('checked_at', '<=', dueBefore),
            eb.and([eb('checked_at', 'is', null), eb('created_at', '<=', dueBefore)]),
          ]),
        )
        .orderBy('id')
        .limit(BATCH_SIZE)
        .execute();
      for (const session of sessions) {
        totals.checked += 1;
        if (!(await checkConnectorSession(deps, session))) totals.ended += 1;
      }
      if (sessions.length < BATCH_SIZE) break;
      after = sessions[sessions.length - 1]!.id;
    }
    // Sign-outs that Hi.Events did not confirm before, of sessions already ended.
    const pending = await deps.db
      .selectFrom('hi_events_tokens')
      .innerJoin('connector_sessions', 'connector_sessions.id', 'hi_events_tokens.connector_session_id')
      .select('connector_sessions.id')
      .distinct()
      .where('hi_events_tokens.revoked_at', 'is', null)
      .where('hi_events_tokens.expires_at', '>', now)
      .where('connector_sessions.revoked_at', 'is not', null)
      .execute();
    for (const row of pending) await endConnectorSession(deps, row.id);
    return totals;
  }

  const tick = async () => {
    running = runOnce().catch((error: unknown) => deps.log.error({ err: error }, 'session check failed'));
    await running;
    running = undefined;
    if (timer !== undefined) timer = setTimeout(() => void tick(), intervalMs);
  };

  return {
    runOnce,
    start() {
      timer = setTimeout(() => void tick(), intervalMs);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
