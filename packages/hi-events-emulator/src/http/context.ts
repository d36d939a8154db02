import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { TokenSettings } from '../auth/tokens.ts';
import type { HiEventsStore } from '../state/store.ts';
import type { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import { EmulatorError, notFound } from './errors.ts';

/** What every route module of the emulator is given. */
export interface EmulatorContext {
  readonly store: HiEventsStore;
  readonly webhooks: WebhookDispatcher;
  readonly tokens: TokenSettings;
  /** The Hi.Events release the emulator acts as (`EMULATOR_HI_EVENTS_VERSION`). */
  readonly version: { readonly major: number; readonly minor: number; readonly patch: number };
  /** The emulator's public base URL, known once it listens. */
  readonly publicUrl: () => string;
}

export type Emulator = FastifyInstance;
export type { FastifyReply, FastifyRequest };

/** Parses a body with a contract schema; the first problem becomes a Laravel-style 422 naming its field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new EmulatorError(422, 'validation_failed', `${field}: ${issue.message}`, {
    [field]: [issue.message],
  });
}

/** A numeric route parameter; anything else names no resource and is a 404, as in Laravel's router. */
export function idParam(request: FastifyRequest, name: string): number {
  const raw = (request.params as Record<string, string | undefined>)[name];
  const id = Number(raw);
  if (!raw || !/^\d{1,10}$/.test(raw) || !Number.isSafeInteger(id) || id < 1) throw notFound('Resource');
  return id;
}
