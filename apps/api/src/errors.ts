import { HttpError } from '@tuvens/server';

/** Every error code the API answers with, and the one HTTP status each maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_shared_secret: 401,
  invalid_signature: 401,
  missing_signature: 401,
  stale_timestamp: 401,
  session_unknown: 401,
  session_expired: 401,
  session_consumed: 401,
  session_revoked: 401,
  session_not_validated: 401,
  session_verifier_required: 401,
  session_verifier_mismatch: 401,
  session_event_mismatch: 401,
  forbidden: 403,
  not_found: 404,
  event_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  transition_not_allowed: 409,
  ticketing_not_started: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The API's one error type: a stable code, a message for people, and the status derived from the code. */
export class AppError extends HttpError<ErrorCode> {
  override name = 'AppError';

  constructor(code: ErrorCode, message: string) {
    super(code, ERROR_STATUS[code], message);
  }
}
