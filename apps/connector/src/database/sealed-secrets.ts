import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets the connector must keep and use again, such as each event's Hi.Events webhook secret, are
 * stored sealed: AES-256-GCM under a key derived from `CONNECTOR_ENCRYPTION_KEY`, so a copy of the
 * database alone lets nobody forge Hi.Events' webhooks. Several keys may be configured while one
 * replaces another: the first seals, any opens.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const derivedKeys = new Map<string, Buffer>();

/** The AES key of a configured key, derived once: HKDF-SHA-256, bound to this use. */
function aesKey(configured: string): Buffer {
  let key = derivedKeys.get(configured);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', configured, '', 'tuvens-connector sealed secrets v1', 32));
    derivedKeys.set(configured, key);
  }
  return key;
}

/** `v1.<iv>.<ciphertext and tag>`, base64url, under the first key. */
export function sealSecret(keys: readonly string[], secret: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', aesKey(keys[0]!), iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/**
 * The secret inside a sealed value, or undefined when no configured key opens it (a wrong key, or a
 * value altered in the database). A value stored before sealing existed is answered as it is.
 */
export function openSecret(keys: readonly string[], stored: string): string | undefined {
  const [version, iv, sealed] = stored.split('.');
  if (version !== VERSION || iv === undefined || sealed === undefined) return stored;
  const ivBytes = Buffer.from(iv, 'base64url');
  const bytes = Buffer.from(sealed, 'base64url');
  if (ivBytes.length !== IV_BYTES || bytes.length < TAG_BYTES) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', aesKey(key), ivBytes);
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      // Not this key; the next may be the one.
    }
  }
  return undefined;
}
