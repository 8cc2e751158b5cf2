export type Role = "customer" | "admin";
/** Who the gateway says is calling (what it puts in the identity headers). */
export interface Identity {
  id: string;
  role: Role;
}
export declare const PROBLEM_CONTENT_TYPE = "application/problem+json";
/** An RFC 9457 problem document as a test reads it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  errors?: {
    path: string;
    message: string;
  }[];
}
export interface CallOptions {
  method?: string;
  /** Sent as JSON with `content-type: application/json`, unless `rawBody` is given. */
  body?: unknown;
  /** Sent as is; with `content-type: application/json` only when `rawBodyIsJson` says so (or a header does). */
  rawBody?: string;
  /** The identity the gateway would set after verifying an access token. */
  as?: Identity;
  headers?: HeadersInit;
}
/** Builds the request a service's app receives from the gateway for `path` on `host`. */
export declare function serviceRequest(
  host: string,
  path: string,
  options?: CallOptions,
  settings?: {
    rawBodyIsJson?: boolean;
  },
): Request;
/** Asserts an RFC 9457 problem with this status and code, and returns its document. */
export declare function expectProblem(response: Response, status: number, code: string): Promise<Problem>;
