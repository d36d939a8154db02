import type { IncomingHttpHeaders } from 'node:http';
import { STANDARD_WEBHOOK_HEADERS, WEBHOOK_TOLERANCE_MS } from '@tuvens/contracts';
import { SEED_SIGNATURE_HEADER, verifySeedSignature } from '@tuvens/contracts/signatures';
import { Webhook } from 'standardwebhooks';

/**
 * The outcome of checking a webhook's signatures over its raw body. `seed` means only the seed's
 * `x-hi-events-signature` held; that scheme carries no timestamp, so the caller must then require
 * the payload's own `occurred_at` to lie within the tolerance.
 */
export type WebhookVerification =
  | { ok: true; scheme: 'standard-webhooks' | 'seed' }
  | { ok: false; reason: WebhookVerificationFailure; message: string };

export type WebhookVerificationFailure = 'missing_signature' | 'invalid_signature' | 'stale_timestamp';

export type WebhookVerifier = (rawBody: Buffer, headers: IncomingHttpHeaders) => WebhookVerification;

/**
 * A verifier accepting a webhook when at least one scheme holds for any of the secrets (several while
 * one is being rotated): Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) or the
 * seed's `x-hi-events-signature: sha256=<hex>`. Both use the secret's own bytes as the HMAC key.
 */
export function createWebhookVerifier(secrets: readonly string[], now: () => Date): WebhookVerifier {
  const standardWebhooks = secrets.map((secret) => new Webhook(Buffer.from(secret), { format: 'raw' }));

  return (rawBody, headers) => {
    const standard = {
      id: singleHeader(headers, STANDARD_WEBHOOK_HEADERS.id),
      timestamp: singleHeader(headers, STANDARD_WEBHOOK_HEADERS.timestamp),
      signature: singleHeader(headers, STANDARD_WEBHOOK_HEADERS.signature),
    };
    const seed = singleHeader(headers, SEED_SIGNATURE_HEADER);
    const presentedStandard = Object.values(standard).some((value) => value !== undefined);
    if (!presentedStandard && seed === undefined) {
      return failure(
        'missing_signature',
        `Sign the webhook: send ${SEED_SIGNATURE_HEADER} or the Standard Webhooks headers ${Object.values(STANDARD_WEBHOOK_HEADERS).join(', ')}`,
      );
    }

    const problems: { reason: WebhookVerificationFailure; message: string }[] = [];
    if (presentedStandard) {
      const problem = checkStandardWebhook(standardWebhooks, rawBody, standard, now());
      if (!problem) return { ok: true, scheme: 'standard-webhooks' };
      problems.push(problem);
    }
    if (seed !== undefined) {
      if (verifySeedSignature(rawBody, seed, secrets)) return { ok: true, scheme: 'seed' };
      problems.push({
        reason: 'invalid_signature',
        message: `${SEED_SIGNATURE_HEADER} is not sha256=<hex HMAC-SHA256 of the body> with an accepted secret`,
      });
    }
    const reason = problems.every((problem) => problem.reason === 'stale_timestamp')
      ? 'stale_timestamp'
      : problems.some((problem) => problem.reason === 'invalid_signature')
        ? 'invalid_signature'
        : 'missing_signature';
    return failure(reason, problems.map((problem) => problem.message).join('; '));
  };
}

/** Whether a moment lies within the webhook tolerance of now, on either side. */
export function isWithinTolerance(at: Date, now: Date): boolean {
  return Math.abs(at.getTime() - now.getTime()) <= WEBHOOK_TOLERANCE_MS;
}

function checkStandardWebhook(
  webhooks: readonly Webhook[],
  rawBody: Buffer,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  now: Date,
): { reason: WebhookVerificationFailure; message: string } | undefined {
  const missing = Object.entries(STANDARD_WEBHOOK_HEADERS)
    .filter(([key]) => headers[key as keyof typeof headers] === undefined)
    .map(([, header]) => header);
  if (missing.length > 0) {
    return {
      reason: 'missing_signature',
      message: `Standard Webhooks headers missing: ${missing.join(', ')}`,
    };
  }
  const seconds = /^[0-9]{1,12}$/.test(headers.timestamp!) ? Number(headers.timestamp) : Number.NaN;
  if (Number.isNaN(seconds)) {
    return {
      reason: 'invalid_signature',
      message: `${STANDARD_WEBHOOK_HEADERS.timestamp} must be whole seconds since 1970`,
    };
  }
  // The package checks the tolerance against the system clock; checking against the app's clock
  // as well keeps one notion of "now" across the API.
  if (!isWithinTolerance(new Date(seconds * 1000), now)) {
    return {
      reason: 'stale_timestamp',
      message: `${STANDARD_WEBHOOK_HEADERS.timestamp} is more than ${WEBHOOK_TOLERANCE_MS / 60_000} minutes from the server's clock`,
    };
  }
  const signed = {
    [STANDARD_WEBHOOK_HEADERS.id]: headers.id!,
    [STANDARD_WEBHOOK_HEADERS.timestamp]: headers.timestamp!,
    [STANDARD_WEBHOOK_HEADERS.signature]: headers.signature!,
  };
  for (const webhook of webhooks) {
    try {
      webhook.verify(rawBody, signed, { jsonParse: false });
      return undefined;
    } catch {
      // Not this secret; a rotation list holds several.
    }
  }
  return {
    reason: 'invalid_signature',
    message: `${STANDARD_WEBHOOK_HEADERS.signature} holds no v1 signature of this body with an accepted secret`,
  };
}

function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

function failure(reason: WebhookVerificationFailure, message: string): WebhookVerification {
  return { ok: false, reason, message };
}
