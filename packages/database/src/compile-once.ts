import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/**
 * Statements built and compiled by Kysely once, then run many times with other values.
 *
 * Building a statement with Kysely's builder and compiling it to SQL costs about as much CPU as
 * sending it to PostgreSQL and reading the answer; for the few statements every request runs, that
 * is worth doing once. `compileOnce(build)` builds the statement with placeholders where its values
 * go, compiles it, and from then on only puts each call's values in the placeholders' places among
 * the compiled parameters.
 *
 * The rule for `build`: it may decide the statement's form by which values are null or absent (and
 * by nothing it is not given), never by what a value is, since it sees placeholders, not values. A
 * form is compiled for each pattern of null and absent values it meets. Under test
 * (`NODE_ENV=test`) every run also builds the statement from the real values the ordinary way and
 * throws if the two differ in text or parameters, so a `build` that breaks the rule fails its tests.
 */

/** Stands for the value at `path` while a statement is built. */
class Placeholder {
  readonly path: readonly string[];

  constructor(path: readonly string[]) {
    this.path = path;
  }

  [Symbol.toPrimitive](): never {
    throw new Error(
      `compileOnce: "${this.path.join('.')}" was used as a value while its statement was built; ` +
        'only whether a value is null or absent may shape a statement',
    );
  }
}

/** A compiled form, and where each of its parameters comes from: a value's path, or a constant of the form. */
interface Form {
  compiled: CompiledQuery;
  sources: ({ path: readonly string[] } | { constant: unknown })[];
}

type Values = Record<string, unknown>;

const verifyEveryRun = process.env.NODE_ENV === 'test';

/** Most forms kept per statement; a statement meeting more patterns compiles the others on each call. */
const MAX_FORMS = 64;

/** Objects whose members are values of their own; anything else (a Date, an array, a string) is one value. */
function isRecord(value: unknown): value is Values {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** What selects a form: the keys, at every depth, and which values are null or absent. */
function patternOf(values: Values): string {
  let pattern = '';
  for (const key in values) {
    const value = values[key];
    if (value === null) pattern += `${key}:null,`;
    else if (value === undefined) pattern += `${key}:absent,`;
    else if (isRecord(value)) pattern += `${key}{${patternOf(value)}},`;
    else pattern += `${key},`;
  }
  return pattern;
}

/** `values` with a placeholder in place of every value that is neither null nor absent. */
function placeholdersFor(values: Values, path: readonly string[] = []): Values {
  const placeholders: Values = {};
  for (const key in values) {
    const value = values[key];
    placeholders[key] =
      value === null || value === undefined
        ? value
        : isRecord(value)
          ? placeholdersFor(value, [...path, key])
          : new Placeholder([...path, key]);
  }
  return placeholders;
}

function valueAt(values: Values, path: readonly string[]): unknown {
  let value: unknown = values;
  for (const key of path) value = (value as Values)[key];
  return value;
}

function sameParameter(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameParameter(item, b[index]));
  }
  return Object.is(a, b);
}

/** Throws unless running `build` on the real values compiled to what the form gave. */
function verify(direct: CompiledQuery, text: string, parameters: readonly unknown[]): void {
  if (direct.sql !== text) {
    throw new Error(`compileOnce: the compiled form's text\n  ${text}\nis, built directly,\n  ${direct.sql}`);
  }
  const same =
    direct.parameters.length === parameters.length &&
    direct.parameters.every((parameter, index) => sameParameter(parameter, parameters[index]));
  if (!same) {
    throw new Error(
      `compileOnce: the compiled form's parameters ${JSON.stringify(parameters)} are, built directly, ${JSON.stringify(direct.parameters)}`,
    );
  }
}

/**
 * A statement compiled once per pattern of null and absent values (see above), run with each call's
 * values. Every Kysely instance it is given must compile for PostgreSQL, as all of ours do.
 */
export function compileOnce<DB, V extends object, Row>(
  build: (db: Kysely<DB>, values: V) => Compilable<Row>,
): (db: Kysely<DB>, values: V) => Promise<Row[]> {
  const forms = new Map<string, Form>();

  const formFor = (db: Kysely<DB>, values: Values): Form => {
    const pattern = patternOf(values);
    let form = forms.get(pattern);
    if (!form) {
      const compiled = build(db, placeholdersFor(values) as V).compile();
      const sources = compiled.parameters.map((parameter) =>
        parameter instanceof Placeholder ? { path: parameter.path } : { constant: parameter },
      );
      form = { compiled, sources };
      if (forms.size < MAX_FORMS) forms.set(pattern, form);
    }
    return form;
  };

  return async (db, values) => {
    const { compiled, sources } = formFor(db, values as Values);
    const parameters = sources.map((source) =>
      'path' in source ? valueAt(values as Values, source.path) : source.constant,
    );
    if (verifyEveryRun) verify(build(db, values).compile(), compiled.sql, parameters);
    const result = await db.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
}
