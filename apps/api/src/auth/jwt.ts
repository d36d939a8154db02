import { createSecretKey, type webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { ApiConfig } from '../config.ts';

const ISSUER = 'tuvens-api';
const AUDIENCE = 'tuvens';

const signingKeys = new WeakMap<Uint8Array, webcrypto.CryptoKey>();

/**
 * The HS256 key of a secret, made once per secret. Given the raw bytes, jose imports them as a key
 * on every sign and verify (given a KeyObject, it exports and imports that too); a CryptoKey it
 * uses as it is.
 */
function signingKey(secret: Uint8Array): webcrypto.CryptoKey {
  let key = signingKeys.get(secret);
  if (!key) {
    key = createSecretKey(secret).toCryptoKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    signingKeys.set(secret, key);
  }
  return key;
}

/** Issues the short-lived HS256 login token of a user, under their current `token_version`. */
export async function issueAccessToken(
  config: ApiConfig,
  user: { id: number; token_version: number },
  now: Date,
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ ver: user.token_version })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(user.id))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + config.jwt.expirySeconds)
    .sign(signingKey(config.jwt.secret));
}

export type AccessTokenCheck =
  | { ok: true; userId: number; tokenVersion: number; expiresAt: Date }
  | { ok: false; reason: 'expired' | 'invalid' };

/**
 * Verifies a login token; only HS256 with our key, issuer and audience is accepted (never `alg: none`),
 * and only with an expiry: a token without `exp` would never stop working. Whether the token's
 * version is still the user's is for the caller, who reads the user anyway.
 */
export async function verifyAccessToken(
  config: ApiConfig,
  token: string,
  now: Date,
): Promise<AccessTokenCheck> {
  try {
    const { payload } = await jwtVerify(token, signingKey(config.jwt.secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: now,
      requiredClaims: ['exp', 'sub'],
    });
    const userId = Number(payload.sub);
    const tokenVersion = payload.ver ?? 0;
    if (!Number.isSafeInteger(userId) || userId <= 0) return { ok: false, reason: 'invalid' };
    if (typeof tokenVersion !== 'number' || !Number.isSafeInteger(tokenVersion)) {
      return { ok: false, reason: 'invalid' };
    }
    return { ok: true, userId, tokenVersion, expiresAt: new Date(payload.exp! * 1000) };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}
