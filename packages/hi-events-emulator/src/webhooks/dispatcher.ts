import { AsyncLocalStorage } from 'node:async_hooks';
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

/** One webhook to send: where, for what, and its encoded body. */
interface WebhookJob {
  webhook: Webhook;
  type: HiEventsWebhookType;
  eventId: number;
  body: string;
}

/**
 * Sends Hi.Events' webhooks the way Hi.Events does (`WebhookDispatchService` through
 * spatie/laravel-webhook-server): a POST of `{event_type, event_sent_at, payload}` encoded by PHP's
 * `json_encode`, `Signature` = lowercase hex HMAC-SHA256 of exactly that body with the webhook's
 * secret, `X-Webhook-Source: Hi.Events`, once, after the change is committed, and never on its
 * own when an event simply ends.
 *
 * When they leave follows Hi.Events. An order's or a product's webhook is sent within the request that
 * caused it, before that request is answered: `WebhookEventListener` dispatches
 * `DispatchOrderWebhookJob` and `DispatchProductWebhookJob`, which are not `ShouldQueue` and so run at
 * once, and `WebhookDispatchService` sends with `dispatchSync` (`backend/app/Listeners/Webhook/`,
 * `backend/app/Jobs/Order/Webhook/`). An event's webhook goes through the queue: `DispatchEventWebhookJob`
 * is `ShouldQueue` (`backend/app/Jobs/Event/Webhook/`), and queue workers take the jobs in order, each
 * sending one and waiting for its answer (or the 3 s timeout) before the next; the all-in-one image runs
 * one `queue:work` (`docker/all-in-one/supervisor/supervisord.conf`, no `numprocs`).
 */
export class WebhookDispatcher {
  readonly deliveries: DeliveryRecord[] = [];
  readonly #store: HiEventsStore;
  readonly #fetch: typeof fetch;
  readonly #log: FastifyBaseLogger;
  readonly #workers: number;
  /** Event webhooks waiting for a queue worker. */
  readonly #queue: WebhookJob[] = [];
  /** The queue workers at work, at most `#workers`. */
  readonly #working = new Set<Promise<void>>();
  /** Order and product webhooks on their way, each within the request that caused it. */
  readonly #sending = new Set<Promise<void>>();
  /** The webhooks the current request has sent (see `inRequest`). */
  readonly #request = new AsyncLocalStorage<Promise<void>[]>();
  #toDrop = 0;

  constructor(store: HiEventsStore, fetchImpl: typeof fetch, log: FastifyBaseLogger, workers = 1) {
    this.#store = store;
    this.#fetch = fetchImpl;
    this.#log = log;
    this.#workers = workers;
    store.onDomainEvent((type, eventId, payload) => this.#dispatch(type, eventId, payload));
  }

  /** Loses the next `count` webhooks on the way, as a network or a busy receiver might. */
  dropNext(count = 1): void {
    this.#toDrop += count;
  }

  /**
   * Runs `handle`, the rest of a request, so that the order and product webhooks it causes are sent
   * within it: `sentInRequest`, awaited before the answer goes out, resolves once they are answered.
   */
  inRequest(handle: () => void): void {
    this.#request.run([], handle);
  }

  async sentInRequest(): Promise<void> {
    await Promise.allSettled(this.#request.getStore() ?? []);
  }

  /** Resolves once every webhook sent or queued so far has been answered or has failed. */
  async idle(): Promise<void> {
    while (this.#working.size + this.#sending.size > 0) {
      await Promise.allSettled([...this.#working, ...this.#sending]);
    }
  }

  #dispatch(type: HiEventsWebhookType, eventId: number, payload?: Record<string, unknown>): void {
    const event = this.#store.events.get(eventId);
    if (!event) return;
    // Hi.Events builds the payload when its job runs; the emulator takes the snapshot now.
    const envelope: HiEventsWebhookEnvelope = {
      event_type: type,
      event_sent_at: carbonIso8601(this.#store.now()),
      // A product's or an order's webhook carries that resource (WebhookDispatchService::dispatchProductWebhook, ::dispatchOrderWebhook).
      payload: payload ?? eventResource(this.#store, event),
    };
    for (const webhook of this.#store.webhooksFor(eventId, type)) {
      const job: WebhookJob = { webhook, type, eventId, body: phpJsonEncode(envelope) };
      if (type.startsWith('event.')) this.#queue.push(job);
      else this.#sendNow(job);
    }
    while (this.#working.size < this.#workers && this.#queue.length > 0) {
      const worker: Promise<void> = this.#work().finally(() => this.#working.delete(worker));
      this.#working.add(worker);
    }
  }

  #sendNow(job: WebhookJob): void {
    const sending: Promise<void> = this.#send(job).finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
    this.#request.getStore()?.push(sending);
  }

  /** One queue worker: sends the queued webhooks one after another until the queue is empty. */
  async #work(): Promise<void> {
    // A queued job runs after the request that queued it, never within it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) await this.#send(job);
  }

  async #send({ webhook, type, eventId, body }: WebhookJob): Promise<void> {
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
