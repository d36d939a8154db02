import { errors, jwtVerify, SignJWT } from 'jose';
import type { ApiConfig } from '../config.ts';

const ISSUER = 'tuvens-api';
const AUDIENCE = 'tuvens';

/** Issues the short-lived HS256 login token of a user. */
export async function issueAccessToken(config: ApiConfig, userId: number, now: Date): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + config.jwt.expirySeconds)
    .sign(config.jwt.secret);
}

export type AccessTokenCheck = { ok: true; userId: number } | { ok: false; reason: 'expired' | 'invalid' };

/** Verifies a login token; only HS256 with our key, issuer and audience is accepted (never `alg: none`). */
export async function verifyAccessToken(
  config: ApiConfig,
  token: string,
  now: Date,
): Promise<AccessTokenCheck> {
  try {
    const { payload } = await jwtVerify(token, config.jwt.secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: now,
    });
    const userId = Number(payload.sub);
    return Number.isSafeInteger(userId) && userId > 0
      ? { ok: true, userId }
      : { ok: false, reason: 'invalid' };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}
