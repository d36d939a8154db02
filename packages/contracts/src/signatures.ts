import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Server-side helpers for the shared secrets and HMAC signatures of docs/contract.md#auth-schemes and
 * docs/contract.md#webhook-signatures.
 * Kept out of the package's main entry so that browser code never pulls in `node:crypto`.
 */

/** Compares two strings in time that depends on neither; hashing first evens out their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a).digest();
  const digestB = createHash('sha256').update(b).digest();
  return timingSafeEqual(digestA, digestB);
}

/** Whether a presented secret equals any accepted one (several while a secret is rotated); checks them all. */
export function matchesAnySecret(presented: string | undefined, accepted: readonly string[]): boolean {
  if (presented === undefined) return false;
  let matched = false;
  for (const secret of accepted) matched = safeEqual(presented, secret) || matched;
  return matched;
}

function hmacHex(body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The seed's header name and scheme: `x-hi-events-signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SEED_SIGNATURE_HEADER = 'x-hi-events-signature';

export function signSeedSignature(body: string | Uint8Array, secret: string): string {
  return `sha256=${hmacHex(body, secret)}`;
}

export function verifySeedSignature(
  body: string | Uint8Array,
  header: string | undefined,
  secrets: readonly string[],
): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const presented = header.slice('sha256='.length).toLowerCase();
  return secrets.some((secret) => safeEqual(presented, hmacHex(body, secret)));
}

/**
 * Hi.Events' own webhook signature: header `Signature`, the lowercase hex HMAC-SHA256 of the raw
 * JSON body with the webhook's secret, no prefix and no timestamp. Hi.Events sends through
 * spatie/laravel-webhook-server, whose default signer does exactly this
 * (Hi.Events `backend/app/Services/Infrastructure/Webhook/WebhookDispatchService.php`).
 */
export const HI_EVENTS_SIGNATURE_HEADER = 'signature';

export function signHiEventsSignature(body: string | Uint8Array, secret: string): string {
  return hmacHex(body, secret);
}

export function verifyHiEventsSignature(
  body: string | Uint8Array,
  header: string | undefined,
  secret: string,
): boolean {
  return header !== undefined && safeEqual(header.trim().toLowerCase(), hmacHex(body, secret));
}
