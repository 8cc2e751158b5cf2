/**
 * One table maps every error code to its HTTP status and title. Services return codes in RPC
 * results; HTTP layers turn them into RFC 9457 problem+json through this table only.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, title: "Bad Request" },
  validation_failed: { status: 400, title: "Validation Failed" },
  unauthorized: { status: 401, title: "Unauthorized" },
  invalid_token: { status: 401, title: "Invalid Token" },
  // A wrong credential in a request body (password, refresh token) is a 400 with its own code, as
  // OAuth 2's token endpoint answers invalid_grant: 401 is kept for the access token alone.
  invalid_credentials: { status: 400, title: "Invalid Credentials" },
  // SPEC.md: a failed login is a 401 (the caller stays unauthenticated), with WWW-Authenticate.
  login_failed: { status: 401, title: "Login Failed" },
  invalid_grant: { status: 400, title: "Invalid Refresh Token" },
  forbidden: { status: 403, title: "Forbidden" },
  insufficient_scope: { status: 403, title: "Insufficient Scope" },
  not_found: { status: 404, title: "Not Found" },
  method_not_allowed: { status: 405, title: "Method Not Allowed" },
  conflict: { status: 409, title: "Conflict" },
  last_admin: { status: 409, title: "Last Admin" },
  out_of_stock: { status: 409, title: "Out of Stock" },
  payment_declined: { status: 402, title: "Payment Declined" },
  email_taken: { status: 409, title: "Email Taken" },
  payload_too_large: { status: 413, title: "Payload Too Large" },
  unsupported_media_type: { status: 415, title: "Unsupported Media Type" },
  unprocessable: { status: 422, title: "Unprocessable Content" },
  rate_limited: { status: 429, title: "Too Many Requests" },
  header_too_large: { status: 431, title: "Request Header Fields Too Large" },
  internal: { status: 500, title: "Internal Server Error" },
  bad_gateway: { status: 502, title: "Bad Gateway" },
  unavailable: { status: 503, title: "Service Unavailable" },
  timeout: { status: 504, title: "Gateway Timeout" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** A field-level validation error, as listed under `errors` in a problem document. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Transient failures are worth retrying (with backoff, through a breaker); every other code is a
 * business answer that retrying cannot change.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["internal", "bad_gateway", "unavailable", "timeout"]);

export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}
