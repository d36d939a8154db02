import { isIP } from 'node:net';
import { z } from 'zod';

/** A reason not to start, worded for the operator; the process entry prints it instead of a stack trace. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The shortest secret production accepts: HMAC and HS256 keys shorter than SHA-256's output are weak. */
export const MIN_SECRET_BYTES = 32;

/** A yes/no environment variable: `true`/`1` or `false`/`0`, and nothing else, so a typo is an error. */
export const envFlag = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/**
 * The variables that say which database to use, the same for every server: PostgreSQL when
 * `DATABASE_URL` is set, else PGlite; named prepared statements unless a pooler cannot keep them.
 */
export const DatabaseEnvironment = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_PREPARED_STATEMENTS: envFlag.default(true),
};

/** Parses the environment with an app's own schema; a `ConfigError` names the first variable that is wrong. */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined>,
): z.output<Schema> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export interface Secrets<Name extends string> {
  /** Each secret's accepted values, the one in use first; several while it is being rotated. */
  readonly secrets: Readonly<Record<Name, string[]>>;
  /** The secrets that fell back to their development values, so that every start can warn about them. */
  readonly developmentSecrets: Name[];
}

/**
 * Reads each secret as a comma-separated rotation list. Outside production an unset secret falls back
 * to its development value, so that a fresh checkout runs as it is; production refuses an unset or short
 * secret, or one of the published development values, rather than run on one anybody can guess. Secrets are read in the order of `developmentValues`,
 * which is the order in which their refusals are met.
 */
export function readSecrets<Name extends string>(
  env: Readonly<Partial<Record<NoInfer<Name>, string>>>,
  options: {
    production: boolean;
    developmentValues: Readonly<Record<Name, string>>;
    /** Other values published in the repository that production refuses too (another service's). */
    publishedValues?: readonly string[];
  },
): Secrets<Name> {
  const secrets = {} as Record<Name, string[]>;
  const developmentSecrets: Name[] = [];
  const published = new Set<string>([
    ...Object.values<string>(options.developmentValues),
    ...(options.publishedValues ?? []),
  ]);
  for (const name of Object.keys(options.developmentValues) as Name[]) {
    const values = (env[name] ?? '')
      .split(',')
      .map((value) => value.trim())
      .filter(Boolean);
    if (values.length === 0) {
      if (options.production) throw new ConfigError(`${name} must be set in production`);
      developmentSecrets.push(name);
      secrets[name] = [options.developmentValues[name]];
    } else if (options.production && values.some((value) => Buffer.byteLength(value) < MIN_SECRET_BYTES)) {
      throw new ConfigError(`${name} must be at least ${MIN_SECRET_BYTES} bytes in production`);
    } else if (options.production && values.some((value) => published.has(value))) {
      // Anyone can read these in the repository; a token signed with one would pass.
      throw new ConfigError(`${name} is a published development value; production needs its own secret`);
    } else {
      secrets[name] = values;
    }
  }
  return { secrets, developmentSecrets };
}

/** Freezes a config all the way down, so that no module can change what another reads; keys' bytes stay as they are. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * `TRUST_PROXY`: which peers may tell a client's address in `X-Forwarded-For`. `false` (the default)
 * believes none; a number believes that many hops from this server; otherwise a comma-separated list
 * of proxy addresses or CIDR ranges (`10.0.0.0/8`, `loopback`). Never the whole chain: the first entry
 * of `X-Forwarded-For` is whatever the client wrote, so `true` is refused.
 */
export const trustProxySetting = z
  .string()
  .trim()
  .transform((value, context): false | number | string[] => {
    if (value === '' || value === 'false' || value === '0') return false;
    if (/^[0-9]{1,2}$/.test(value)) return Number(value);
    if (value === 'true') {
      context.addIssue({
        code: 'custom',
        message:
          'true would believe any X-Forwarded-For a client writes; give the number of proxies in front (e.g. 1) or their addresses',
      });
      return z.NEVER;
    }
    const entries = value.split(',').map((entry) => entry.trim());
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const named = ['loopback', 'linklocal', 'uniquelocal'].includes(entry);
      const validBits = bits === undefined || /^[0-9]{1,3}$/.test(bits);
      if (!named && !(address && isIP(address) && validBits)) {
        context.addIssue({
          code: 'custom',
          message: `"${entry}" is not a hop count, an IP address, a CIDR range or loopback/linklocal/uniquelocal`,
        });
        return z.NEVER;
      }
    }
    return entries;
  });
export type TrustProxy = z.output<typeof trustProxySetting>;

/**
 * Timeouts of every request but the event streams: the whole request (headers and body) must arrive
 * within `REQUEST_TIMEOUT_MS`, and a connection silent for `CONNECTION_TIMEOUT_MS` is closed, so that
 * clients sending a byte now and then cannot hold connections for ever.
 */
export const HttpTimeoutEnvironment = {
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  CONNECTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
};

/**
 * `METRICS_TOKEN`: the bearer token that reads `/metrics` (see `guardMetrics`); at least 16 characters,
 * since it is the one thing between the counters and the world.
 */
export const metricsTokenSetting = z.string().trim().min(16).optional();
