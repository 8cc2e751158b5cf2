/**
 * One way for a service's tests to talk to its HTTP app as the gateway would (workerd): the
 * identity headers the gateway sets after verifying a token, a JSON or raw body, and the checks
 * every problem+json answer must pass.
 */
import { expect } from "vitest";

export type Role = "customer" | "admin";

/** Who the gateway says is calling (what it puts in the identity headers). */
export interface Identity {
  id: string;
  role: Role;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** An RFC 9457 problem document as a test reads it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  errors?: { path: string; message: string }[];
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
export function serviceRequest(
  host: string,
  path: string,
  options: CallOptions = {},
  settings: { rawBodyIsJson?: boolean } = {},
): Request {
  const headers = new Headers(options.headers);
  if (options.as) {
    headers.set("x-shop-user-id", options.as.id);
    headers.set("x-shop-user-role", options.as.role);
  }
  let body = options.rawBody;
  const json = options.body !== undefined || (body !== undefined && settings.rawBodyIsJson === true);
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (json && !headers.has("content-type")) headers.set("content-type", "application/json");
  const method = options.method ?? (body === undefined ? "GET" : "POST");
  return new Request(`https://${host}${path}`, { method, headers, body });
}

/** Asserts an RFC 9457 problem with this status and code, and returns its document. */
export async function expectProblem(response: Response, status: number, code: string): Promise<Problem> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
  const problem = JSON.parse(text) as Problem;
  expect(problem).toMatchObject({ status, code, type: `https://edge-shop.dev/problems/${code.replaceAll("_", "-")}` });
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  expect(problem.instance).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return problem;
}
