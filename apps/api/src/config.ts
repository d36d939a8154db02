import {
  ConfigError,
  DatabaseEnvironment,
  deepFreeze,
  envFlag,
  HttpTimeoutEnvironment,
  metricsTokenSetting,
  parseEnvironment,
  readSecrets,
  type TrustProxy,
  trustProxySetting,
} from '@tuvens/server';
import { z } from 'zod';

/** Development values of the secrets, used only outside production when a variable is unset; read in this order. */
export const DEVELOPMENT_SECRETS = {
  JWT_SECRET: 'dev-jwt-signing-secret-for-local-use-0123456789',
  CROSS_APP_SHARED_SECRET: 'dev-cross-app-shared-secret-0123456789abcdef',
  HI_EVENTS_SHARED_SECRET: 'dev-hi-events-shared-secret-0123456789abcdef',
  WEB_API_SECRET: 'dev-web-api-secret-0123456789abcdef012345',
} as const;
type SecretName = keyof typeof DEVELOPMENT_SECRETS;

const CROSS_APP_SESSION_MAX_LIFETIME_S = 12 * 60 * 60;

const port = z.coerce.number().int().min(0).max(65_535);
const seconds = z.coerce.number().int().positive();
const perMinute = z.coerce.number().int().positive();

const Environment = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(4000),
  ...DatabaseEnvironment,
  API_DATA_DIR: z.string().min(1).default('.data/api'),
  JWT_SECRET: z.string().optional(),
  JWT_EXPIRY: seconds.default(3600),
  CROSS_APP_SHARED_SECRET: z.string().optional(),
  HI_EVENTS_SHARED_SECRET: z.string().optional(),
  WEB_API_SECRET: z.string().optional(),
  CROSS_APP_SESSION_EXPIRY: seconds.default(900),
  HI_EVENTS_URL: z.url().default('http://localhost:4100'),
  HI_EVENTS_PUBLIC_URL: z.string().optional(),
  WEB_URL: z.url().default('http://localhost:3000'),
  DEMO_DATA: envFlag.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: trustProxySetting.default(false),
  ...HttpTimeoutEnvironment,
  METRICS_TOKEN: metricsTokenSetting,
  API_DOCS: envFlag.optional(),
  RATE_LIMIT_BEACON_PER_MINUTE: perMinute.default(60),
  SSE_MAX_STREAMS: z.coerce.number().int().positive().default(10_000),
  SSE_MAX_STREAMS_PER_CLIENT: z.coerce.number().int().positive().default(20),
  SSE_MAX_STREAMS_PER_USER: z.coerce.number().int().positive().default(10),
  SSE_ACCESS_CHECK_INTERVAL_S: z.coerce.number().int().positive().default(30),
  RATE_LIMIT_LOGIN_PER_MINUTE: perMinute.default(10),
  RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE: perMinute.default(20),
  RATE_LIMIT_CROSS_APP_PER_MINUTE: perMinute.default(600),
  RATE_LIMIT_WEBHOOK_PER_MINUTE: perMinute.default(1200),
  CLEANUP_INTERVAL_S: z.coerce.number().int().min(0).default(3600),
  AUDIT_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).default(180),
});

export interface ApiConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly database: {
    readonly url: string | undefined;
    readonly dataDir: string;
    readonly preparedStatements: boolean;
  };
  readonly jwt: { readonly secret: Uint8Array; readonly expirySeconds: number };
  readonly crossApp: {
    /** Accepted `x-shared-secret` values; several while a secret is being rotated. */
    readonly sharedSecrets: readonly string[];
    readonly sessionExpirySeconds: number;
    readonly sessionMaxLifetimeSeconds: number;
  };
  readonly hiEvents: {
    readonly url: string;
    readonly origin: string;
    /** HMAC keys accepted on status webhooks; several while a secret is being rotated. */
    readonly webhookSecrets: readonly string[];
    /**
     * Origins of the public Hi.Events site whose event pages a status webhook may link to; undefined
     * (only outside production, when unset) accepts any http(s) page.
     */
    readonly publicOrigins: readonly string[] | undefined;
  };
  readonly web: {
    readonly url: string;
    readonly origin: string;
    /** Accepted `x-tuvens-web-secret` values, which vouch for the client address the web server forwards. */
    readonly apiSecrets: readonly string[];
  };
  readonly demoData: boolean;
  readonly logLevel: string;
  readonly trustProxy: TrustProxy;
  readonly http: { readonly requestTimeoutMs: number; readonly connectionTimeoutMs: number };
  /** Reads `/metrics` as `Authorization: Bearer <token>`; without it `/metrics` is off in production. */
  readonly metricsToken: string | undefined;
  /** Whether `/docs` serves the OpenAPI description (off by default in production). */
  readonly docs: boolean;
  /** Caps on open streams, each counted per instance, not shared (see `StreamCaps` in realtime/sse.ts). */
  readonly sse: {
    /** Open update streams in this instance; beyond it a new one is a 503. */
    readonly maxStreams: number;
    /** Open streams of one client address; beyond it a 429. */
    readonly maxStreamsPerClient: number;
    /** Open streams of one signed-in user; beyond it a 429. */
    readonly maxStreamsPerUser: number;
    /** How often a signed-in stream checks that its viewer's sign-in and memberships still stand. */
    readonly accessCheckIntervalSeconds: number;
  };
  readonly rateLimitsPerMinute: {
    /** Sign-in (and password change) attempts from one client address, shared by every instance. */
    readonly login: number;
    /** Failed sign-ins of one account, from anywhere, shared by every instance. */
    readonly loginPerAccount: number;
    readonly crossApp: number;
    readonly webhook: number;
    /** Widget-load reports from one client address. */
    readonly beacon: number;
  };
  /** How often expired sessions, old webhook receipts and old audit entries are deleted; 0 turns the job off. */
  readonly cleanupIntervalSeconds: number;
  /** Days an audit entry is kept; 0 keeps them all. */
  readonly auditLogRetentionDays: number;
  /** Names of the secrets that fell back to their development values. */
  readonly developmentSecrets: readonly SecretName[];
}

/** Reads the environment once into a frozen, typed config; throws a `ConfigError` naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  const vars = parseEnvironment(Environment, env);
  const production = vars.NODE_ENV === 'production';
  const { secrets, developmentSecrets } = readSecrets(vars, {
    production,
    developmentValues: DEVELOPMENT_SECRETS,
  });

  const config: ApiConfig = {
    env: vars.NODE_ENV,
    host: vars.HOST,
    port: vars.API_PORT,
    database: {
      url: vars.DATABASE_URL,
      dataDir: vars.API_DATA_DIR,
      preparedStatements: vars.DATABASE_PREPARED_STATEMENTS,
    },
    jwt: { secret: new TextEncoder().encode(secrets.JWT_SECRET[0]), expirySeconds: vars.JWT_EXPIRY },
    crossApp: {
      sharedSecrets: secrets.CROSS_APP_SHARED_SECRET,
      sessionExpirySeconds: vars.CROSS_APP_SESSION_EXPIRY,
      sessionMaxLifetimeSeconds: CROSS_APP_SESSION_MAX_LIFETIME_S,
    },
    hiEvents: {
      url: vars.HI_EVENTS_URL,
      origin: new URL(vars.HI_EVENTS_URL).origin,
      webhookSecrets: secrets.HI_EVENTS_SHARED_SECRET,
      publicOrigins: readPublicOrigins(vars.HI_EVENTS_PUBLIC_URL, production),
    },
    web: {
      url: vars.WEB_URL,
      origin: new URL(vars.WEB_URL).origin,
      apiSecrets: secrets.WEB_API_SECRET,
    },
    demoData: vars.DEMO_DATA ?? !production,
    logLevel: vars.LOG_LEVEL,
    trustProxy: vars.TRUST_PROXY,
    http: { requestTimeoutMs: vars.REQUEST_TIMEOUT_MS, connectionTimeoutMs: vars.CONNECTION_TIMEOUT_MS },
    metricsToken: vars.METRICS_TOKEN,
    docs: vars.API_DOCS ?? !production,
    sse: {
      maxStreams: vars.SSE_MAX_STREAMS,
      maxStreamsPerClient: vars.SSE_MAX_STREAMS_PER_CLIENT,
      maxStreamsPerUser: vars.SSE_MAX_STREAMS_PER_USER,
      accessCheckIntervalSeconds: vars.SSE_ACCESS_CHECK_INTERVAL_S,
    },
    rateLimitsPerMinute: {
      login: vars.RATE_LIMIT_LOGIN_PER_MINUTE,
      loginPerAccount: vars.RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MINUTE,
      crossApp: vars.RATE_LIMIT_CROSS_APP_PER_MINUTE,
      webhook: vars.RATE_LIMIT_WEBHOOK_PER_MINUTE,
      beacon: vars.RATE_LIMIT_BEACON_PER_MINUTE,
    },
    cleanupIntervalSeconds: vars.CLEANUP_INTERVAL_S,
    auditLogRetentionDays: vars.AUDIT_LOG_RETENTION_DAYS,
    developmentSecrets,
  };
  return deepFreeze(config);
}

/** `HI_EVENTS_PUBLIC_URL`: comma-separated http(s) URLs, kept as their origins; required in production. */
function readPublicOrigins(value: string | undefined, production: boolean): string[] | undefined {
  const urls = (value ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  if (urls.length === 0) {
    if (production) throw new ConfigError('HI_EVENTS_PUBLIC_URL must be set in production');
    return undefined;
  }
  return urls.map((url) => {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      throw new ConfigError(`HI_EVENTS_PUBLIC_URL: "${url}" is not an http(s) URL`);
    }
    return parsed.origin;
  });
}
