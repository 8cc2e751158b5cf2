import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_CODES, type ErrorCode, type FieldError } from "./errors";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemOptions {
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Logged, never sent: what went wrong inside. */
  internal?: string;
}

/**
 * The one error primitive of every HTTP layer: a Hono HTTPException that knows its error code.
 * `onError` renders it as RFC 9457 problem+json with the request id as `instance`.
 */
export class ProblemException extends HTTPException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly internal?: string;

  constructor(code: ErrorCode, options: ProblemOptions) {
    super(ERROR_CODES[code].status as ContentfulStatusCode, { message: options.detail });
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.internal = options.internal;
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  errors?: FieldError[];
}

export function problemDocument(
  code: ErrorCode,
  detail: string,
  requestId: string,
  errors?: FieldError[],
): ProblemDocument {
  const { status, title } = ERROR_CODES[code];
  return {
    type: `https://edge-shop.dev/problems/${code.replaceAll("_", "-")}`,
    title,
    status,
    detail,
    instance: `urn:uuid:${requestId}`,
    code,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function problemResponse(
  code: ErrorCode,
  detail: string,
  requestId: string,
  options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const body = problemDocument(code, detail, requestId, options.errors);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...options.headers },
  });
}

/** Maps an HTTP status that did not come from our table (a Hono or runtime error) to a code. */
export function codeForStatus(status: number): ErrorCode {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    if (entry.status === status) return code as ErrorCode;
  }
  return status >= 500 ? "internal" : "bad_request";
}
