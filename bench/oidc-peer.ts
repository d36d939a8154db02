import http from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * The handshake's peer: `oidc-provider` as a minimal OpenID provider on loopback, in its own
 * process like tuvens-api. One confidential client (the Hi.Events side) using the authorization
 * code flow with PKCE. The interaction route signs the already known user in and records consent
 * without rendering a page, so the flow costs what the protocol costs and nothing a person adds.
 * State is kept by the package's default in-memory adapter.
 */

export const OIDC_CLIENT = {
  client_id: 'hi-events-connector',
  client_secret: 'bench-oidc-client-secret-0123456789abcdefghij',
  redirect_uri: 'http://127.0.0.1:4100/auth/callback',
} as const;
export const OIDC_ACCOUNT_ID = 'organizer';

async function main(): Promise<void> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const issuer = `http://127.0.0.1:${address.port}`;

  // ES256 rather than the default RS256: the cheaper signature, so the peer is shown at its best.
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT.client_id,
        client_secret: OIDC_CLIENT.client_secret,
        redirect_uris: [OIDC_CLIENT.redirect_uri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['bench-oidc-cookie-signing-key-0123456789abcdef'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, accountId) {
      return {
        accountId,
        claims: async () => ({ sub: accountId, email: 'organizer@tuvens.test', name: 'Olivia Organizer' }),
      };
    },
  });
  const handleProtocol = provider.callback();

  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (!request.url?.startsWith('/interaction/')) {
      handleProtocol(request, response);
      return;
    }
    void (async () => {
      try {
        const interaction = await provider.interactionDetails(request, response);
        const grant = new provider.Grant({
          accountId: OIDC_ACCOUNT_ID,
          clientId: String(interaction.params.client_id),
        });
        grant.addOIDCScope(String(interaction.params.scope));
        const grantId = await grant.save();
        await provider.interactionFinished(
          request,
          response,
          { login: { accountId: OIDC_ACCOUNT_ID }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        );
      } catch (error) {
        response.statusCode = 500;
        response.end(error instanceof Error ? error.message : String(error));
      }
    })();
  });

  process.on('SIGTERM', () => process.exit(0));
  process.send?.({
    type: 'oidc:ready',
    issuer,
    publicJwk: { ...(await exportJWK(publicKey)), alg: 'ES256' },
  });
}

// Only when started as the peer's process; the handshake scenario imports the constants above.
if (import.meta.main) await main();
