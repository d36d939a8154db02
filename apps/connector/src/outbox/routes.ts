import { ErrorBody, TicketingStatus } from '@tuvens/contracts';
import { matchesAnySecret } from '@tuvens/contracts/signatures';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, AppContext } from '../http/context.ts';
import { countMessages, listMessages, reviveDeadLetter } from './outbox.ts';

const OutboxQuery = z.object({
  status: z.enum(['pending', 'delivered', 'dead']).default('dead'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const OutboxMessage = z.object({
  id: z.number().int(),
  message_id: z.string(),
  tuvens_event_id: z.number().int(),
  ticketing_status: TicketingStatus,
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
  next_attempt_at: z.string(),
  last_error: z.string().nullable(),
  last_status_code: z.number().int().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
  dead_at: z.string().nullable(),
});

const OutboxListing = z.object({
  counts: z.object({ pending: z.number(), delivered: z.number(), dead: z.number() }),
  messages: z.array(OutboxMessage),
});

/**
 * Operators' view of the status outbox: dead letters (and the rest) are listed, and a dead letter can
 * be put back in the queue once its cause is fixed. For operators only, behind their own token
 * (`CONNECTOR_OPS_TOKEN`), not the secret tuvens-api shares: whoever holds one does not hold the other.
 */
export function registerOutboxRoutes(app: App, ctx: AppContext, onStatusQueued: () => void): void {
  const requireSecret = async (request: FastifyRequest) => {
    const [scheme, presented] = (request.headers.authorization ?? '').split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !matchesAnySecret(presented, ctx.config.opsTokens)) {
      throw new AppError(
        'unauthorized',
        'Send the operators’ token as Authorization: Bearer <CONNECTOR_OPS_TOKEN>',
      );
    }
  };

  app.get(
    '/ops/outbox',
    {
      preValidation: requireSecret,
      schema: { querystring: OutboxQuery, response: { 200: OutboxListing, 400: ErrorBody, 401: ErrorBody } },
    },
    async (request) => {
      const rows = await listMessages(ctx.db, request.query.status, request.query.limit);
      return {
        counts: await countMessages(ctx.db),
        messages: rows.map((row) => ({
          id: row.id,
          message_id: row.message_id,
          tuvens_event_id: row.tuvens_event_id,
          ticketing_status: row.ticketing_status,
          status: row.status,
          attempts: row.attempts,
          next_attempt_at: row.next_attempt_at.toISOString(),
          last_error: row.last_error,
          last_status_code: row.last_status_code,
          created_at: row.created_at.toISOString(),
          delivered_at: row.delivered_at?.toISOString() ?? null,
          dead_at: row.dead_at?.toISOString() ?? null,
        })),
      };
    },
  );

  app.post(
    '/ops/outbox/:id/retry',
    {
      preValidation: requireSecret,
      schema: {
        params: z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
        response: {
          200: z.object({ requeued: z.literal(true) }),
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      if (!(await reviveDeadLetter(ctx.db, request.params.id, ctx.clock()))) {
        throw new AppError('not_found', `No dead letter ${request.params.id}`);
      }
      onStatusQueued();
      return { requeued: true as const };
    },
  );
}
