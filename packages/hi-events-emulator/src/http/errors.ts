/**
 * The emulator's one error type. Hi.Events answers errors as `{message, errors}` (`BaseAction::errorResponse`,
 * Laravel validation on 422); the `error` object is this project's common shape, added beside them so
 * that every service of the project can be read alike.
 */
export class EmulatorError extends Error {
  override name = 'EmulatorError';
  readonly statusCode: number;
  readonly code: string;
  readonly errors: Record<string, string[]> | undefined;

  constructor(statusCode: number, code: string, message: string, errors?: Record<string, string[]>) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.errors = errors;
  }
}

export function errorBody(code: string, message: string, errors?: Record<string, string[]>) {
  return { message, ...(errors ? { errors } : {}), error: { code, message } };
}

export const notFound = (what: string) => new EmulatorError(404, 'not_found', `${what} not found`);

export const unauthenticated = () => new EmulatorError(401, 'unauthenticated', 'Unauthenticated.');

export const forbidden = (message = 'This action is unauthorized.') =>
  new EmulatorError(403, 'forbidden', message);

/** A Laravel-style 422 naming the field that is wrong. */
export const invalid = (field: string, message: string) =>
  new EmulatorError(422, 'validation_failed', `${field}: ${message}`, { [field]: [message] });
