import {
  ConfigError,
  DatabaseEnvironment,
  deepFreeze,
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
  CROSS_APP_SHARED_SECRET: 'dev-cross-app-shared-secret-0123456789abcdef',
  HI_EVENTS_SHARED_SECRET: 'dev-hi-events-shared-secret-0123456789abcdef',
  HI_EVENTS_JWT_SECRET: 'dev-hi-events-jwt-secret-0123456789abcdef',
  CONNECTOR_ENCRYPTION_KEY: 'dev-connector-encryption-key-0123456789abcdef',
  CONNECTOR_OPS_TOKEN: 'dev-connector-ops-token-0123456789abcdefghij',
} as const;
type SecretName = keyof typeof DEVELOPMENT_SECRETS;

const port = z.coerce.number().int().min(0).max(65_535);
const httpUrl = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ''));
const positive = z.coerce.number().int().positive();
const milliseconds = z.coerce.number().int().positive().max(600_000);

const Environment = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  CONNECTOR_PORT: port.default(4100),
  CONNECTOR_PUBLIC_URL: httpUrl.default('http://localhost:4100'),
  ...DatabaseEnvironment,
  CONNECTOR_DATA_DIR: z.string().min(1).default('.data/connector'),
  TUVENS_API_URL: httpUrl.default('http://localhost:4000'),
  TUVENS_WEB_URL: httpUrl.default('http://localhost:3000'),
  TUVENS_API_TIMEOUT_MS: milliseconds.default(5_000),
  TUVENS_API_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  CROSS_APP_SHARED_SECRET: z.string().optional(),
  HI_EVENTS_SHARED_SECRET: z.string().optional(),
  HI_EVENTS_URL: httpUrl.default('http://localhost:4200'),
  HI_EVENTS_API_URL: httpUrl.optional(),
  HI_EVENTS_JWT_SECRET: z.string().optional(),
  CONNECTOR_ENCRYPTION_KEY: z.string().optional(),
  CONNECTOR_OPS_TOKEN: z.string().optional(),
  HI_EVENTS_TOKEN_TTL_S: positive.default(60 * 60),
  HI_EVENTS_COOKIE_DOMAIN: z
    .string()
    .regex(/^\.?[a-z0-9.-]+$/i, 'must be a domain name such as example.com')
    .optional(),
  HI_EVENTS_TIMEOUT_MS: milliseconds.default(10_000),
  HI_EVENTS_DEFAULT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .default('USD'),
  HI_EVENTS_DEFAULT_TIMEZONE: z.string().min(1).default('UTC'),
  CONNECTOR_SESSION_TTL_S: positive.default(12 * 60 * 60),
  CONNECTOR_SESSION_CHECK_INTERVAL_S: positive.default(60),
  RECONCILE_INTERVAL_S: z.coerce.number().int().min(0).default(300),
  CLEANUP_INTERVAL_S: z.coerce.number().int().min(0).default(3600),
  OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  DELIVERY_TIMEOUT_MS: milliseconds.default(10_000),
  DELIVERY_BACKOFF_BASE_MS: milliseconds.default(2_000),
  DELIVERY_BACKOFF_MAX_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  DELIVERY_POLL_INTERVAL_MS: milliseconds.default(1_000),
  DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  TICKET_SUMMARY_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  FEW_TICKETS_LEFT_THRESHOLD: z.coerce.number().int().min(0).max(1_000_000).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: trustProxySetting.default(false),
  ...HttpTimeoutEnvironment,
  METRICS_TOKEN: metricsTokenSetting,
  RATE_LIMIT_SIGN_IN_PER_MINUTE: positive.default(60),
  // Hi.Events sends a webhook per order, from one address, and never retries a refused one: a flash sale
  // of 300 orders a second for one event must pass (apps/connector/README.md, "Ticket summaries").
  RATE_LIMIT_WEBHOOK_PER_MINUTE: positive.default(30_000),
});

export interface ConnectorConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  /** The connector's URL as browsers and Hi.Events reach it; its origin is the only one allowed to post sign-ins. */
  readonly publicUrl: string;
  readonly publicOrigin: string;
  readonly database: {
    readonly url: string | undefined;
    readonly dataDir: string;
    readonly preparedStatements: boolean;
  };
  readonly tuvens: {
    readonly apiUrl: string;
    /** The way back for people: the Tuvens web app. */
    readonly webUrl: string;
    readonly timeoutMs: number;
    /** Extra tries of a `validate-session` call after a network error or a 5xx. */
    readonly retries: number;
    /** Accepted `x-shared-secret` values; the first is sent. */
    readonly sharedSecrets: readonly string[];
    /** HMAC keys of status webhooks; the first signs. */
    readonly webhookSecrets: readonly string[];
  };
  readonly hiEvents: {
    /** Hi.Events' public base URL: its pages, and the origin its sign-in cookie must reach. */
    readonly url: string;
    readonly apiUrl: string;
    /** Hi.Events' `JWT_SECRET`, shared so that the connector can sign people in. */
    readonly jwtSecret: Uint8Array;
    readonly tokenTtlSeconds: number;
    /** The `Domain` of the Hi.Events `token` cookie when the connector and Hi.Events share a parent domain. */
    readonly cookieDomain: string | undefined;
    readonly timeoutMs: number;
    readonly defaultCurrency: string;
    readonly defaultTimezone: string;
  };
  readonly sessionTtlSeconds: number;
  /** How often tuvens-api is asked again whether each signed-in person may still manage their account. */
  readonly sessionCheckIntervalSeconds: number;
  /** How often linked events are re-read from Hi.Events; 0 turns the reconciler off. */
  readonly reconcileIntervalSeconds: number;
  /** How often expired records are deleted (0 turns it off), and how long delivered statuses are kept (0: always). */
  readonly cleanup: { readonly intervalSeconds: number; readonly outboxRetentionDays: number };
  readonly delivery: {
    readonly timeoutMs: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly pollIntervalMs: number;
    readonly batchSize: number;
  };
  /** Ticket summaries (docs/contract.md#ticket-summary). */
  readonly tickets: {
    /** At most one summary per event per this many ms reaches tuvens-api. */
    readonly summaryIntervalMs: number;
    /** "Few tickets left" at or below this many, where Hi.Events shows quantities. */
    readonly fewLeftThreshold: number;
  };
  readonly secureCookies: boolean;
  readonly logLevel: string;
  readonly trustProxy: TrustProxy;
  readonly http: { readonly requestTimeoutMs: number; readonly connectionTimeoutMs: number };
  /** Reads `/metrics` as `Authorization: Bearer <token>`; without it `/metrics` is off in production. */
  readonly metricsToken: string | undefined;
  /** Accepted `Authorization: Bearer` tokens of the operators' `/ops` routes; several while one is rotated. */
  readonly opsTokens: readonly string[];
  readonly rateLimitsPerMinute: { readonly signIn: number; readonly webhook: number };
  /** Names of the secrets that fell back to their development values. */
  /** Keys that seal secrets kept in the database (each event's Hi.Events webhook secret); the first seals. */
  readonly encryptionKeys: readonly string[];
  readonly developmentSecrets: readonly SecretName[];
}

/** Reads the environment once into a frozen, typed config; throws a `ConfigError` naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): ConnectorConfig {
  const vars = parseEnvironment(Environment, env);
  const production = vars.NODE_ENV === 'production';

  if (production) {
    for (const name of ['CONNECTOR_PUBLIC_URL', 'HI_EVENTS_URL'] as const) {
      if (!vars[name].startsWith('https://')) {
        throw new ConfigError(`${name} must be an https URL in production`);
      }
    }
  }
  const { secrets, developmentSecrets } = readSecrets(vars, {
    production,
    developmentValues: DEVELOPMENT_SECRETS,
  });

  const config: ConnectorConfig = {
    env: vars.NODE_ENV,
    host: vars.HOST,
    port: vars.CONNECTOR_PORT,
    publicUrl: vars.CONNECTOR_PUBLIC_URL,
    publicOrigin: new URL(vars.CONNECTOR_PUBLIC_URL).origin,
    database: {
      url: vars.DATABASE_URL,
      dataDir: vars.CONNECTOR_DATA_DIR,
      preparedStatements: vars.DATABASE_PREPARED_STATEMENTS,
    },
    tuvens: {
      apiUrl: vars.TUVENS_API_URL,
      webUrl: vars.TUVENS_WEB_URL,
      timeoutMs: vars.TUVENS_API_TIMEOUT_MS,
      retries: vars.TUVENS_API_RETRIES,
      sharedSecrets: secrets.CROSS_APP_SHARED_SECRET,
      webhookSecrets: secrets.HI_EVENTS_SHARED_SECRET,
    },
    hiEvents: {
      url: vars.HI_EVENTS_URL,
      apiUrl: vars.HI_EVENTS_API_URL ?? `${vars.HI_EVENTS_URL}/api`,
      // jwt-auth keys HS256 with the secret's own bytes (`backend/config/jwt.php`).
      jwtSecret: new TextEncoder().encode(secrets.HI_EVENTS_JWT_SECRET[0]),
      tokenTtlSeconds: vars.HI_EVENTS_TOKEN_TTL_S,
      cookieDomain: vars.HI_EVENTS_COOKIE_DOMAIN,
      timeoutMs: vars.HI_EVENTS_TIMEOUT_MS,
      defaultCurrency: vars.HI_EVENTS_DEFAULT_CURRENCY,
      defaultTimezone: vars.HI_EVENTS_DEFAULT_TIMEZONE,
    },
    sessionTtlSeconds: vars.CONNECTOR_SESSION_TTL_S,
    sessionCheckIntervalSeconds: vars.CONNECTOR_SESSION_CHECK_INTERVAL_S,
    reconcileIntervalSeconds: vars.RECONCILE_INTERVAL_S,
    cleanup: { intervalSeconds: vars.CLEANUP_INTERVAL_S, outboxRetentionDays: vars.OUTBOX_RETENTION_DAYS },
    delivery: {
      timeoutMs: vars.DELIVERY_TIMEOUT_MS,
      backoffBaseMs: vars.DELIVERY_BACKOFF_BASE_MS,
      backoffMaxMs: Math.max(vars.DELIVERY_BACKOFF_MAX_MS, vars.DELIVERY_BACKOFF_BASE_MS),
      pollIntervalMs: vars.DELIVERY_POLL_INTERVAL_MS,
      batchSize: vars.DELIVERY_BATCH_SIZE,
    },
    tickets: {
      summaryIntervalMs: vars.TICKET_SUMMARY_INTERVAL_MS,
      fewLeftThreshold: vars.FEW_TICKETS_LEFT_THRESHOLD,
    },
    secureCookies: production,
    logLevel: vars.LOG_LEVEL,
    trustProxy: vars.TRUST_PROXY,
    http: { requestTimeoutMs: vars.REQUEST_TIMEOUT_MS, connectionTimeoutMs: vars.CONNECTION_TIMEOUT_MS },
    metricsToken: vars.METRICS_TOKEN,
    opsTokens: secrets.CONNECTOR_OPS_TOKEN,
    rateLimitsPerMinute: {
      signIn: vars.RATE_LIMIT_SIGN_IN_PER_MINUTE,
      webhook: vars.RATE_LIMIT_WEBHOOK_PER_MINUTE,
    },
    encryptionKeys: secrets.CONNECTOR_ENCRYPTION_KEY,
    developmentSecrets,
  };
  return deepFreeze(config);
}
