/**
 * An error meant for the client: a stable code and a message for people, answered with its status.
 * Each app extends it with its own code union and the status each code maps to.
 */
export class HttpError<Code extends string = string> extends Error {
  override name = 'HttpError';
  readonly code: Code;
  readonly statusCode: number;

  constructor(code: Code, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** The one shape of every error answer (`ErrorBody` in @tuvens/contracts). */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
