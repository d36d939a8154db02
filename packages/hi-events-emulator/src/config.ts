import { z } from 'zod';

/** Hi.Events' JWT signing secret in development; the connector has the same default. */
export const DEVELOPMENT_JWT_SECRET = 'dev-hi-events-jwt-secret-0123456789abcdef';

const Environment = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  EMULATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(4200),
  EMULATOR_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  HI_EVENTS_JWT_SECRET: z.string().min(1).optional(),
  HI_EVENTS_JWT_TTL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 60 * 60),
  EMULATOR_HI_EVENTS_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+/, 'must be a Hi.Events version such as 1.8.0')
    .default('1.8.0'),
  EMULATOR_API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(180),
  EMULATOR_QUEUE_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  EMULATOR_DATA_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface EmulatorConfig {
  readonly host: string;
  readonly port: number;
  /** Where people and the connector reach the emulator: `http://localhost:{port}` by default, the address it listens on for port 0. */
  readonly publicUrl: string | undefined;
  /** The HS256 key of API tokens, shared with the connector as Hi.Events' `JWT_SECRET` would be. */
  readonly jwtSecret: string;
  /** How long a token the emulator issues lives (Hi.Events' `JWT_TTL`, one week by default). */
  readonly jwtTtlSeconds: number;
  /** The Hi.Events release it acts as: before 1.7.0 the `event.*` webhook types do not exist. */
  readonly version: { readonly major: number; readonly minor: number; readonly patch: number };
  /** Hi.Events' `APP_API_RATE_LIMIT_PER_MINUTE`: requests a minute per user (or per address when signed out). */
  readonly apiRateLimitPerMinute: number;
  /**
   * Queue workers sending webhooks, each one webhook at a time. Hi.Events sends them from queued jobs,
   * and its all-in-one image runs one `queue:work` process (`docker/all-in-one/supervisor/supervisord.conf`).
   */
  readonly queueWorkers: number;
  /** Where the state is kept as a JSON snapshot across restarts; in memory only when unset. */
  readonly dataDir: string | undefined;
  readonly logLevel: string;
  readonly usesDevelopmentSecret: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the environment once into a frozen config. The emulator is a development stand-in:
 * it refuses to start with `NODE_ENV=production`.
 */
export function loadEmulatorConfig(env: Record<string, string | undefined>): EmulatorConfig {
  const parsed = Environment.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.')}: ${issue.message}`);
  }
  const vars = parsed.data;
  if (vars.NODE_ENV === 'production') {
    throw new ConfigError('NODE_ENV: the Hi.Events emulator is for development and tests only');
  }
  return Object.freeze({
    host: vars.HOST,
    port: vars.EMULATOR_PORT,
    publicUrl:
      vars.EMULATOR_PUBLIC_URL?.replace(/\/+$/, '') ??
      (vars.EMULATOR_PORT === 0 ? undefined : `http://localhost:${vars.EMULATOR_PORT}`),
    jwtSecret: vars.HI_EVENTS_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
    jwtTtlSeconds: vars.HI_EVENTS_JWT_TTL_S,
    version: parseVersion(vars.EMULATOR_HI_EVENTS_VERSION),
    apiRateLimitPerMinute: vars.EMULATOR_API_RATE_LIMIT_PER_MINUTE,
    queueWorkers: vars.EMULATOR_QUEUE_WORKERS,
    dataDir: vars.EMULATOR_DATA_DIR,
    logLevel: vars.LOG_LEVEL,
    usesDevelopmentSecret: vars.HI_EVENTS_JWT_SECRET === undefined,
  });
}

function parseVersion(text: string): EmulatorConfig['version'] {
  const [major = 0, minor = 0, patch = 0] = text.split(/[.-]/).map(Number);
  return { major, minor, patch };
}

/** Whether the emulated release is at least `major.minor`. */
export function isAtLeast(version: EmulatorConfig['version'], major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}
