import { randomInt } from 'node:crypto';
import { STATUS_WEBHOOK_PATH } from '@tuvens/contracts';
import { SEED_SIGNATURE_HEADER, signSeedSignature } from '@tuvens/contracts/signatures';
import { Webhook } from 'standardwebhooks';

export type DeliveryOutcome =
  | { kind: 'delivered'; statusCode: number }
  | { kind: 'retry'; error: string; statusCode: number | null; retryAfterMs?: number }
  | { kind: 'dead'; error: string; statusCode: number };

export interface DeliverySettings {
  url: string;
  /** The first HMAC key of `HI_EVENTS_SHARED_SECRET`: it signs both schemes. */
  secret: string;
  timeoutMs: number;
}

const ERROR_SNIPPET_CHARS = 300;
const RETRY_AFTER_LIMIT_MS = 24 * 60 * 60 * 1000;

/** The status webhook's URL on tuvens-api. */
export const statusWebhookUrl = (apiUrl: string) => `${apiUrl}${STATUS_WEBHOOK_PATH}`;

/**
 * Sends one status webhook and says what to do next; it never throws. Both signature schemes
 * (docs/contract.md#webhook-signatures) cover the exact stored bytes; the Standard Webhooks timestamp
 * is fresh on every try, which is what lets a late retry pass tuvens-api's replay window. A 2xx is
 * delivered; a network error, a timeout, a redirect, 408, 429 or a 5xx is tried again; any other 4xx
 * is final.
 */
export async function deliverStatusWebhook(
  message: { messageId: string; body: string },
  settings: DeliverySettings,
  now: Date,
  fetchImpl: typeof fetch,
): Promise<DeliveryOutcome> {
  const headers = {
    'content-type': 'application/json',
    [SEED_SIGNATURE_HEADER]: signSeedSignature(message.body, settings.secret),
    'webhook-id': message.messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(settings.secret, { format: 'raw' }).sign(
      message.messageId,
      now,
      message.body,
    ),
  };
  let response: Response;
  try {
    response = await fetchImpl(settings.url, {
      method: 'POST',
      headers,
      body: message.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (error) {
    return { kind: 'retry', error: describeFailure(error), statusCode: null };
  }
  const status = response.status;
  const snippet = (await response.text().catch(() => '')).slice(0, ERROR_SNIPPET_CHARS);
  if (status >= 200 && status < 300) return { kind: 'delivered', statusCode: status };
  if (status >= 300 && status < 400) {
    return { kind: 'retry', error: `redirected (${status}); redirects are not followed`, statusCode: status };
  }
  if (status === 408 || status === 429 || status >= 500) {
    return {
      kind: 'retry',
      error: `tuvens-api answered ${status}: ${snippet}`,
      statusCode: status,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now),
    };
  }
  return { kind: 'dead', error: `tuvens-api refused it with ${status}: ${snippet}`, statusCode: status };
}

/**
 * Exponential backoff with full jitter: the n-th retry waits a random time up to base·2ⁿ⁻¹, capped,
 * so that many connectors retrying after one outage do not arrive together. A longer `Retry-After`
 * is honoured, up to a day.
 */
export function backoffDelayMs(
  attempts: number,
  settings: { baseMs: number; maxMs: number },
  retryAfterMs?: number,
  random: (max: number) => number = (max) => randomInt(max + 1),
): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  const jittered = Math.max(Math.floor(ceiling / 10), random(ceiling));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, RETRY_AFTER_LIMIT_MS));
}

function parseRetryAfter(header: string | null, now: Date): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
