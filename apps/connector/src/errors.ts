import { HttpError } from '@tuvens/server';

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
  link_other_browser: 403,
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
export class AppError extends HttpError<ErrorCode> {
  override name = 'AppError';

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, ERROR_STATUS[code], message, options);
  }
}
