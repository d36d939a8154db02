import type { Clock } from '@tuvens/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectorConfig } from '../config.ts';
import type { ConnectorSessionRow } from '../database/schema.ts';
import { AppError } from '../errors.ts';
import type { HiEventsAdapter } from '../hi-events/adapter.ts';
import type { AppContext } from '../http/context.ts';
import { findConnectorSession, sessionCookieName } from './connector-sessions.ts';
import { checkConnectorSession, isCheckDue } from './session-guard.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The connector session of the request, set by `requireConnectorSession`. */
    connectorSession?: ConnectorSessionRow;
  }
}

/**
 * The seed's `SecureCrossAppAuthMiddleware`: a `preHandler` that authenticates a request by the
 * connector's session cookie, or answers 401. A signed cookie is not needed: the token is random
 * and looked up by its hash. A session not confirmed with tuvens-api within
 * `CONNECTOR_SESSION_CHECK_INTERVAL_S` is confirmed now; one Tuvens no longer backs is ended.
 */
export function requireConnectorSession(
  ctx: Pick<AppContext, 'db' | 'clock' | 'config' | 'hiEvents' | 'tuvens'>,
) {
  const name = sessionCookieName(ctx.config.secureCookies);
  return async (request: FastifyRequest) => {
    const token = request.cookies[name];
    const session = token ? await findConnectorSession(ctx.db, token, ctx.clock()) : undefined;
    if (!session) throw new AppError('unauthorized', 'Sign in through Tuvens first');
    if (isCheckDue(session, ctx.config, ctx.clock())) {
      const good = await checkConnectorSession({ ...ctx, log: request.log }, session);
      if (!good) throw new AppError('unauthorized', 'Sign in through Tuvens first');
    }
    request.connectorSession = session;
  };
}

/**
 * A `preValidation` hook for routes that change state on the strength of a cookie: the request must
 * come from the connector's own pages. Browsers send `Origin` with every POST, and a cross-site one
 * would otherwise ride on the person's cookies (or sign them in as someone else).
 */
export function requireOwnOrigin(config: Pick<ConnectorConfig, 'publicOrigin'>) {
  return async (request: FastifyRequest) => {
    if (request.headers.origin !== config.publicOrigin) {
      throw new AppError('origin_not_allowed', `Send this from ${config.publicOrigin}`);
    }
  };
}

/** Sets the connector's session cookie and the Hi.Events sign-in cookie on a successful sign-in. */
export function setSignInCookies(
  reply: FastifyReply,
  input: {
    config: ConnectorConfig;
    clock: Clock;
    hiEvents: HiEventsAdapter;
    session: { token: string; expiresAt: Date };
    hiEventsToken: string;
  },
): void {
  const { config, clock, hiEvents, session } = input;
  reply.setCookie(sessionCookieName(config.secureCookies), session.token, {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: '/',
    maxAge: Math.max(0, Math.floor((session.expiresAt.getTime() - clock().getTime()) / 1000)),
  });
  // Hi.Events reads its API token from this cookie (jwt-auth's cookie parser); on localhost cookies
  // ignore the port, and in production the connector shares Hi.Events' host or parent domain.
  reply.setCookie(hiEvents.signInCookie.name, input.hiEventsToken, {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: '/',
    domain: hiEvents.signInCookie.domain,
    maxAge: hiEvents.signInCookie.maxAgeSeconds,
  });
}

/** Clears both cookies on sign-out. */
export function clearSignInCookies(
  reply: FastifyReply,
  input: { config: ConnectorConfig; hiEvents: HiEventsAdapter },
): void {
  const { config, hiEvents } = input;
  reply.clearCookie(sessionCookieName(config.secureCookies), {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: '/',
  });
  reply.clearCookie(hiEvents.signInCookie.name, {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: '/',
    domain: hiEvents.signInCookie.domain,
  });
}
