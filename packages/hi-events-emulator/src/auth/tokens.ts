import { randomBytes } from 'node:crypto';
import {
  HI_EVENTS_TOKEN_COOKIE,
  HI_EVENTS_TOKEN_PRV,
  type HiEventsRole,
  HiEventsTokenClaims,
} from '@tuvens/contracts';
import type { FastifyRequest } from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import { unauthenticated } from '../http/errors.ts';
import type { Actor, HiEventsStore } from '../state/store.ts';

export interface TokenSettings {
  secret: Uint8Array;
  ttlSeconds: number;
  issuer: () => string;
}

/** Issues a Hi.Events API token as jwt-auth does on sign-in: HS256 with its required claims plus `account_id` and `role`. */
export async function issueToken(
  settings: TokenSettings,
  input: { userId: number; accountId: number; role: HiEventsRole; now: Date },
): Promise<string> {
  const issuedAt = Math.floor(input.now.getTime() / 1000);
  return new SignJWT({ prv: HI_EVENTS_TOKEN_PRV, account_id: input.accountId, role: input.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(`${settings.issuer()}/api/auth/login`)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + settings.ttlSeconds)
    .setSubject(String(input.userId))
    .setJti(randomBytes(20).toString('hex'))
    .sign(settings.secret);
}

export interface VerifiedToken {
  actor: Actor;
  claims: HiEventsTokenClaims;
}

/**
 * Verifies a token as Hi.Events' `auth:api` guard does with jwt-auth 2.8.2 (`backend/config/jwt.php`):
 * HS256 with the shared secret; the required claims `iss iat exp nbf sub jti`; zero leeway, so a
 * token whose `iat` or `nbf` lies in the future is refused like an expired one (`Claims/IssuedAt`,
 * `Claims/NotBefore`, `Support/Utils::isFuture`); a `prv`, when present, naming the user model
 * (`JWT::checkSubjectModel`); not on the blacklist (by `jti`); and a user that exists.
 */
export async function verifyToken(
  settings: TokenSettings,
  store: HiEventsStore,
  token: string,
): Promise<VerifiedToken | undefined> {
  try {
    const now = store.now();
    const { payload } = await jwtVerify(token, settings.secret, {
      algorithms: ['HS256'],
      currentDate: now,
      clockTolerance: 0,
      requiredClaims: ['iss', 'iat', 'exp', 'nbf', 'sub', 'jti'],
    });
    const claims = HiEventsTokenClaims.parse(payload);
    if (claims.iat * 1000 > now.getTime() || claims.nbf * 1000 > now.getTime()) return undefined;
    if (claims.prv !== undefined && claims.prv !== HI_EVENTS_TOKEN_PRV) return undefined;
    if (store.revokedTokenIds.has(claims.jti)) return undefined;
    const userId = Number(claims.sub);
    if (!Number.isSafeInteger(userId) || !store.users.has(userId)) return undefined;
    return { actor: { userId, accountId: claims.account_id, tokenId: claims.jti }, claims };
  } catch {
    return undefined;
  }
}

/**
 * The token of a request, looked for where jwt-auth's parser chain looks: the `Authorization: Bearer`
 * header first, then the `token` cookie that Hi.Events sets on sign-in (`BaseAuthAction`).
 */
export function requestToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const [scheme, value] = header.split(' ');
    return scheme?.toLowerCase() === 'bearer' && value ? value : undefined;
  }
  return readCookie(request.headers.cookie, HI_EVENTS_TOKEN_COOKIE);
}

export async function requireActor(
  settings: TokenSettings,
  store: HiEventsStore,
  request: FastifyRequest,
): Promise<VerifiedToken> {
  const token = requestToken(request);
  const verified = token ? await verifyToken(settings, store, token) : undefined;
  if (!verified) throw unauthenticated();
  return verified;
}

/**
 * The `token` cookie as Hi.Events sets it on sign-in (`BaseAuthAction`). Hi.Events marks it `Secure`;
 * the emulator serves plain HTTP, so it leaves that off.
 */
export function tokenCookie(token: string, maxAgeSeconds: number): string {
  return `${HI_EVENTS_TOKEN_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax`;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index === -1) continue;
    if (part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
