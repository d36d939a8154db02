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
 * secret rather than run on one anybody can guess. Secrets are read in the order of `developmentValues`,
 * which is the order in which their refusals are met.
 */
export function readSecrets<Name extends string>(
  env: Readonly<Partial<Record<NoInfer<Name>, string>>>,
  options: { production: boolean; developmentValues: Readonly<Record<Name, string>> },
): Secrets<Name> {
  const secrets = {} as Record<Name, string[]>;
  const developmentSecrets: Name[] = [];
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
