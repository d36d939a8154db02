import { type PublicConfig, publicConfig } from '#lib/config.ts';
import { building, dev } from '$app/env';
import {
  API_INTERNAL_URL,
  CROSS_APP_INTERNAL_URL,
  DEMO_LOGINS,
  NODE_ENV,
  PAGE_CACHE_MAX_AGE_MS,
  RELAY_MAX_STREAMS,
  RELAY_MAX_STREAMS_PER_CLIENT,
  WEB_API_SECRET,
} from '$app/env/private';

export interface ServerConfig extends PublicConfig {
  /** tuvens-api as this server reaches it. */
  readonly apiInternalUrl: string;
  /** The connector as this server reaches it, to check it answers before sending anyone there. */
  readonly crossAppInternalUrl: string;
  /** Whether the sign-in page lists the demo logins. */
  readonly showDemoLogins: boolean;
  /** Sent as `x-tuvens-web-secret`, vouching for the browser address forwarded to tuvens-api. */
  readonly webApiSecret: string;
  readonly production: boolean;
  /** Live update streams relayed at once, in all and for one browser address. */
  readonly relayMaxStreams: number;
  readonly relayMaxStreamsPerClient: number;
  /** Longest an anonymous visitor's event page is served again, in ms; 0 keeps none (#lib/server/page-cache.ts). */
  readonly pageCacheMaxAgeMs: number;
}

/** The development value of `WEB_API_SECRET`, the same as tuvens-api's; refused in production. */
export const DEVELOPMENT_WEB_API_SECRET = 'dev-web-api-secret-0123456789abcdef012345';

// The build runs with NODE_ENV=production and no secrets; the checks are for the server it builds.
const production = NODE_ENV === 'production' && !building;

/** Production refuses to start on a secret that is published in this repository. */
function webApiSecret(value: string | undefined): string {
  if (!production) return value ?? DEVELOPMENT_WEB_API_SECRET;
  if (!value) throw new Error('WEB_API_SECRET must be set in production');
  if (value === DEVELOPMENT_WEB_API_SECRET)
    throw new Error('WEB_API_SECRET is the published development value; production needs its own');
  return value;
}

const apiInternalUrl = API_INTERNAL_URL ?? publicConfig.apiBaseUrl;

export const serverConfig: ServerConfig = Object.freeze({
  ...publicConfig,
  apiInternalUrl,
  crossAppInternalUrl: CROSS_APP_INTERNAL_URL ?? publicConfig.crossAppUrl,
  // tuvens-api seeds the demo logins only outside production, which in practice means on this machine.
  // Where tuvens-api serves from this machine is no sign of demo data: many deployments put it there.
  showDemoLogins: DEMO_LOGINS ?? false,
  webApiSecret: webApiSecret(WEB_API_SECRET),
  production,
  relayMaxStreams: RELAY_MAX_STREAMS!,
  relayMaxStreamsPerClient: RELAY_MAX_STREAMS_PER_CLIENT!,
  // `vite dev` draws every page, so that an edit shows on the next load.
  pageCacheMaxAgeMs: dev ? 0 : PAGE_CACHE_MAX_AGE_MS!,
});
