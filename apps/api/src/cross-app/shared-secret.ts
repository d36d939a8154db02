import { SHARED_SECRET_HEADER } from '@tuvens/contracts';
import { matchesAnySecret } from '@tuvens/contracts/signatures';
import type { FastifyRequest } from 'fastify';
import type { AnonymousFailureAudit } from '../audit/anonymous-failures.ts';
import { AppError } from '../errors.ts';
import { type AppContext, requestOrigin } from '../http/context.ts';

/**
 * A `preValidation` hook for server-to-server routes: the caller must present one of the accepted
 * `x-shared-secret` values. It runs before body validation, so strangers learn nothing of the schema.
 * Refusals are audited as other anonymous failures are: the first of each reason from each address
 * in each minute, so a flood of bad secrets leaves a trace, not a row per request.
 */
export function requireSharedSecret(
  ctx: AppContext,
  anonymousFailures: AnonymousFailureAudit,
  action: string,
) {
  return async (request: FastifyRequest) => {
    const presented = request.headers[SHARED_SECRET_HEADER];
    if (typeof presented === 'string' && matchesAnySecret(presented, ctx.config.crossApp.sharedSecrets))
      return;
    const reason = presented === undefined ? 'missing_shared_secret' : 'wrong_shared_secret';
    ctx.metrics.crossAppCalls.inc({ call: action, outcome: reason });
    await anonymousFailures.record({
      action,
      outcome: 'failure',
      actor: 'anonymous',
      reason,
      origin: requestOrigin(request),
    });
    throw new AppError(
      'invalid_shared_secret',
      `Send the cross-app shared secret in ${SHARED_SECRET_HEADER}`,
    );
  };
}
