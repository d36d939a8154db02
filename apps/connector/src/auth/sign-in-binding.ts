import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CROSS_APP_STATE_COOKIE } from '@tuvens/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectorConfig } from '../config.ts';

/**
 * Binds a sign-in link to the browser that asked for it, as OAuth binds `state` and PKCE to the
 * user agent (docs/architecture.md#sign-in-flow). `/auth/cross-app/start` keeps a random `state` and a
 * code verifier in this browser's cookie and sends only the verifier's S256 challenge to Tuvens; a
 * link then signs in only the browser holding both. A link sent to someone else's browser finds no
 * matching cookie there, and is refused before its token is used.
 */

/** Long enough to sign in to Tuvens on the way; a late link is started again with one click. */
export const SIGN_IN_STATE_TTL_S = 600;
/** The cookie is sent only to the landing page and its calls. */
const STATE_COOKIE_PATH = '/auth/cross-app';
const STATE = /^[A-Za-z0-9_-]{43}$/;

export interface SignInBinding {
  state: string;
  codeVerifier: string;
}

/** A fresh state and PKCE pair: 256 bits each from the CSPRNG, base64url. */
export function createSignInBinding(): SignInBinding & { codeChallenge: string } {
  const state = randomBytes(32).toString('base64url');
  const codeVerifier = randomBytes(32).toString('base64url');
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  return { state, codeVerifier, codeChallenge };
}

export function setSignInBindingCookie(
  reply: FastifyReply,
  config: Pick<ConnectorConfig, 'secureCookies'>,
  binding: SignInBinding,
): void {
  // Lax, so that it comes along on the top-level redirect from Tuvens back to the landing page.
  reply.setCookie(CROSS_APP_STATE_COOKIE, `${binding.state}.${binding.codeVerifier}`, {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: STATE_COOKIE_PATH,
    maxAge: SIGN_IN_STATE_TTL_S,
  });
}

export function clearSignInBindingCookie(
  reply: FastifyReply,
  config: Pick<ConnectorConfig, 'secureCookies'>,
): void {
  reply.clearCookie(CROSS_APP_STATE_COOKIE, {
    httpOnly: true,
    secure: config.secureCookies,
    sameSite: 'lax',
    path: STATE_COOKIE_PATH,
  });
}

/** The binding this browser started, if its cookie holds a well-formed one. */
export function readSignInBinding(request: FastifyRequest): SignInBinding | undefined {
  const [state, codeVerifier, ...rest] = (request.cookies[CROSS_APP_STATE_COOKIE] ?? '').split('.');
  if (rest.length > 0 || !state || !codeVerifier || !STATE.test(state) || !STATE.test(codeVerifier)) {
    return undefined;
  }
  return { state, codeVerifier };
}

/** Whether the link's `state` is the one this browser's cookie holds, compared in constant time. */
export function matchesState(binding: SignInBinding | undefined, state: string): boolean {
  if (!binding) return false;
  const expected = Buffer.from(binding.state);
  const presented = Buffer.from(state);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
