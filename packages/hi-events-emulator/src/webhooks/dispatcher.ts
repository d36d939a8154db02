import { createHmac } from 'node:crypto';
import type { HiEventsWebhookEnvelope, HiEventsWebhookType } from '@tuvens/contracts';
import type { FastifyBaseLogger } from 'fastify';
import { eventResource } from '../api/resources.ts';
import type { HiEventsStore, Webhook } from '../state/store.ts';

/** spatie/laravel-webhook-server's timeout in Hi.Events (`backend/config/webhook-server.php`). */
const WEBHOOK_TIMEOUT_MS = 3_000;
const RESPONSE_BODY_LIMIT = 1_000;

/** One webhook as it left the emulator, for tests and the emulator's own log. */
export interface DeliveryRecord {
  webhookId: number;
  eventId: number;
  eventType: HiEventsWebhookType;
  url: string;
  body: string;
  /** The answer's status, `null` when it could not be sent or was dropped on purpose. */
  status: number | null;
  dropped: boolean;
}

/**
 * Sends Hi.Events' webhooks the way Hi.Events does (`WebhookDispatchService` through
 * spatie/laravel-webhook-server): a POST of `{event_type, event_sent_at, payload}` encoded by PHP's
 * `json_encode`, `Signature` = lowercase hex HMAC-SHA256 of exactly that body with the webhook's
 * secret, `X-Webhook-Source: Hi.Events`, once, after the change is committed, and never on its
 * own when an event simply ends.
 */
export class WebhookDispatcher {
  readonly deliveries: DeliveryRecord[] = [];
  readonly #store: HiEventsStore;
  readonly #fetch: typeof fetch;
  readonly #log: FastifyBaseLogger;
  readonly #inFlight = new Set<Promise<void>>();
  #toDrop = 0;

  constructor(store: HiEventsStore, fetchImpl: typeof fetch, log: FastifyBaseLogger) {
    this.#store = store;
    this.#fetch = fetchImpl;
    this.#log = log;
    store.onDomainEvent((type, eventId, payload) => this.#dispatch(type, eventId, payload));
  }

  /** Loses the next `count` webhooks on the way, as a network or a busy receiver might. */
  dropNext(count = 1): void {
    this.#toDrop += count;
  }

  /** Resolves once every webhook sent so far has been answered or has failed. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #dispatch(type: HiEventsWebhookType, eventId: number, payload?: Record<string, unknown>): void {
    const event = this.#store.events.get(eventId);
    if (!event) return;
    // Hi.Events queues the job and builds the payload when it runs; the emulator takes the snapshot now.
    const envelope: HiEventsWebhookEnvelope = {
      event_type: type,
      event_sent_at: carbonIso8601(this.#store.now()),
      // A product's or an order's webhook carries that resource (WebhookDispatchService::dispatchProductWebhook, ::dispatchOrderWebhook).
      payload: payload ?? eventResource(this.#store, event),
    };
    for (const webhook of this.#store.webhooksFor(eventId, type)) {
      const body = phpJsonEncode(envelope);
      const sending = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.#send(webhook, type, eventId, body))
        .finally(() => this.#inFlight.delete(sending));
      this.#inFlight.add(sending);
    }
  }

  async #send(webhook: Webhook, type: HiEventsWebhookType, eventId: number, body: string): Promise<void> {
    const record: DeliveryRecord = {
      webhookId: webhook.id,
      eventId,
      eventType: type,
      url: webhook.url,
      body,
      status: null,
      dropped: false,
    };
    this.deliveries.push(record);
    webhook.last_triggered_at = this.#store.now();
    if (this.#toDrop > 0) {
      this.#toDrop -= 1;
      record.dropped = true;
      this.#log.info({ webhookId: webhook.id, eventId, type }, 'webhook dropped on purpose');
      return;
    }
    try {
      const response = await this.#fetch(webhook.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Webhook-Source': 'Hi.Events',
          Signature: createHmac('sha256', webhook.secret).update(body).digest('hex'),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      record.status = response.status;
      webhook.last_response_code = response.status;
      webhook.last_response_body = (await response.text()).slice(0, RESPONSE_BODY_LIMIT);
    } catch (error) {
      webhook.last_response_code = null;
      webhook.last_response_body = error instanceof Error ? error.message : String(error);
    }
    this.#log.info(
      { webhookId: webhook.id, eventId, type, status: record.status },
      'webhook sent (Hi.Events does not retry it)',
    );
  }
}

/** Carbon's `toIso8601String()`: seconds precision with a numeric offset, e.g. `2026-06-01T18:00:00+00:00`. */
export function carbonIso8601(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * The bytes PHP's `json_encode` produces with no flags: slashes escaped as `\/` and every
 * non-ASCII UTF-16 unit as a lowercase `\uXXXX`. A receiver that re-serializes instead of
 * verifying the raw body gets a different signature, as it would against real Hi.Events.
 */
export function phpJsonEncode(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('/', '\\/')
    .replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
