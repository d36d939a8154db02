import { isIP } from 'node:net';
import { CLIENT_ADDRESS_HEADER, WEB_SECRET_HEADER } from '@tuvens/contracts';
import { matchesAnySecret } from '@tuvens/contracts/signatures';
import type { FastifyRequest } from 'fastify';
import type { App, AppContext } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is asking, for rate limits, stream caps and the audit log: the browser's address when the
     * web server vouches for it with its secret, else the peer's (`request.ip`, after `TRUST_PROXY`).
     */
    clientAddress: string;
  }
}

/**
 * The web server calls tuvens-api from its own address for everyone who signs in there; without the
 * browser's address, one client's failed sign-ins would lock every web user out. The web server
 * forwards it in `x-tuvens-client-address`, and it is believed only beside the web server's own
 * secret, so that nobody else can choose the address they are counted as (docs/contract.md#client-address).
 */
export function registerClientAddress(app: App, ctx: AppContext): void {
  app.decorateRequest('clientAddress', '');
  app.addHook('onRequest', async (request) => {
    request.clientAddress = forwardedClientAddress(ctx, request) ?? request.ip;
  });
}

function forwardedClientAddress(ctx: AppContext, request: FastifyRequest): string | undefined {
  const forwarded = request.headers[CLIENT_ADDRESS_HEADER];
  const secret = request.headers[WEB_SECRET_HEADER];
  if (typeof forwarded !== 'string' || typeof secret !== 'string') return undefined;
  if (!matchesAnySecret(secret, ctx.config.web.apiSecrets)) return undefined;
  return isIP(forwarded) ? forwarded : undefined;
}
