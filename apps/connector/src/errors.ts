import type { ErrorBody } from '@tuvens/contracts';

/** Every error code the connector answers with, and the one HTTP status each maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  link_invalid: 401,
  link_expired: 401,
  link_used: 401,
  invalid_signature: 401,
  invalid_shared_secret: 401,
  not_allowed: 403,
  origin_not_allowed: 403,
  not_found: 404,
  unknown_webhook: 404,
  hi_events_email_in_use: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  tuvens_unreachable: 502,
  hi_events_unreachable: 502,
  busy: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The connector's one error type: a stable code, a message for people, and the status derived from the code. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
