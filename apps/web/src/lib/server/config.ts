import { type PublicConfig, publicConfig } from '#lib/config.ts';
import {
  API_INTERNAL_URL,
  CROSS_APP_INTERNAL_URL,
  CROSS_APP_SHARED_SECRET,
  DEMO_LOGINS,
} from '$app/env/private';

export interface ServerConfig extends PublicConfig {
  /** tuvens-api as this server reaches it. */
  readonly apiInternalUrl: string;
  /** The connector as this server reaches it, to check it answers before sending anyone there. */
  readonly crossAppInternalUrl: string;
  /** Sent as `x-shared-secret` with session requests when set. */
  readonly crossAppSharedSecret: string | undefined;
  /** Whether the sign-in page lists the demo logins. */
  readonly showDemoLogins: boolean;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const apiInternalUrl = API_INTERNAL_URL ?? publicConfig.apiBaseUrl;

export const serverConfig: ServerConfig = Object.freeze({
  ...publicConfig,
  apiInternalUrl,
  crossAppInternalUrl: CROSS_APP_INTERNAL_URL ?? publicConfig.crossAppUrl,
  crossAppSharedSecret: CROSS_APP_SHARED_SECRET,
  // tuvens-api seeds the demo logins only outside production, which in practice means on this machine.
  showDemoLogins: DEMO_LOGINS ?? LOCAL_HOSTS.has(new URL(apiInternalUrl).hostname),
});
