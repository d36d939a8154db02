import type { Cookies } from '@sveltejs/kit';

/**
 * The sign-in lives in one HttpOnly cookie holding tuvens-api's JWT: page scripts never see it,
 * and only this server forwards it to the API.
 */
export const SESSION_COOKIE = 'tuvens_session';

const FALLBACK_MAX_AGE_S = 60 * 60;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Secure everywhere but on this machine, where the app is served over plain http. The URL's scheme
 * cannot decide it: adapter-node reports https unless a proxy says otherwise.
 */
export function needsSecureCookie(url: URL): boolean {
  return !LOOPBACK_HOSTS.has(url.hostname);
}

/** Seconds until the JWT expires, read from its `exp` claim (the API verifies the signature, not us). */
function secondsUntilExpiry(token: string, nowMs: number): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (typeof payload.exp === 'number') return Math.max(0, Math.floor(payload.exp - nowMs / 1000));
  } catch {}
  return FALLBACK_MAX_AGE_S;
}

export function readSessionToken(cookies: Cookies): string | undefined {
  return cookies.get(SESSION_COOKIE) || undefined;
}

export function startSession(cookies: Cookies, url: URL, token: string, nowMs = Date.now()): void {
  cookies.set(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: needsSecureCookie(url),
    maxAge: secondsUntilExpiry(token, nowMs),
  });
}

export function endSession(cookies: Cookies, url: URL): void {
  cookies.delete(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: needsSecureCookie(url),
  });
}
