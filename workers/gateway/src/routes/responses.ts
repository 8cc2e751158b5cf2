import type { RouteConfig } from "@hono/zod-openapi";
import { ProblemSchema } from "#shared/contracts/problem";

/**
 * The responses every operation can get from the gateway itself, documented once: the published
 * contract lists every status the server can send (SPEC.md section 3's order of work), with the
 * headers a client needs to act on it.
 */

type Responses = RouteConfig["responses"];
type Header = { description: string; required?: boolean; schema: { type: "string"; pattern?: string } };

const header = (description: string, required = false, pattern?: string): Header => ({
  description,
  ...(required ? { required } : {}),
  schema: { type: "string", ...(pattern ? { pattern } : {}) },
});

/** Sent on every /api response that got past the limiter (not on 413/431, which come before it). */
export const RATE_LIMIT_HEADERS = {
  "RateLimit-Policy": header('IETF RateLimit-Policy, e.g. `"anon";q=100;w=900`'),
  RateLimit: header('IETF RateLimit, e.g. `"anon";r=57;t=412`'),
} as const;

export const LOCATION = header("Where the created resource lives", true, "^/api/");

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input: the problem lists every field error under `errors`",
  401: "No, or an invalid, access token (always with WWW-Authenticate)",
  403: "Not allowed for this caller",
  404: "Not found",
  409: "Conflict",
  413: "Body over 64 KB",
  415: "The body is not application/json",
  422: "Unprocessable",
  429: "Rate limited: wait Retry-After seconds",
  431: "Authorization header over 8 KB",
  502: "A service behind the gateway failed",
  503: "Unavailable (the rate limiter is down and this route fails closed): wait Retry-After seconds",
};

/** One problem+json response, with the headers that status carries. */
export function problem(description: string, status?: number, api = true): Responses[number] {
  const headers: Record<string, Header> = {};
  if (api && status !== 413 && status !== 431) Object.assign(headers, RATE_LIMIT_HEADERS);
  if (status === 429 || status === 503) headers["Retry-After"] = header("Seconds to wait", status === 429, "^[0-9]+$");
  if (status === 401) headers["WWW-Authenticate"] = header('Bearer realm="edge-shop", error="..." (RFC 6750)', true);
  if (status === 403) headers["WWW-Authenticate"] = header('Bearer ... error="insufficient_scope" for a wrong role');
  return {
    description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: { "application/problem+json": { schema: ProblemSchema } },
  };
}

export interface ErrorSet {
  /** Under /api: rate limited, forwarded. */
  api: boolean;
  /** Needs an access token. */
  authenticated: boolean;
  /** Takes params, a query, headers or a body the gateway validates. */
  input: boolean;
  /** Takes a JSON body. */
  body: boolean;
  /** Forwarded to a service (a service's 5xx becomes a 502). */
  forwarded: boolean;
  /** Statuses of the operation itself (409, 422, 404...). */
  extra?: readonly number[];
  /** Descriptions for those, when the generic one says too little. */
  descriptions?: Readonly<Record<number, string>>;
}

/** Every error status one operation can answer, in the gateway's order of work. */
export function errorResponses(set: ErrorSet): Responses {
  const statuses = new Set<number>([413, 431]);
  if (set.api) {
    statuses.add(429);
    statuses.add(503);
  }
  if (set.forwarded) statuses.add(502);
  if (set.authenticated) {
    statuses.add(401);
    statuses.add(403);
  }
  if (set.input) statuses.add(400);
  if (set.body) statuses.add(415);
  for (const status of set.extra ?? []) statuses.add(status);
  const responses: Responses = {};
  for (const status of [...statuses].sort()) {
    responses[status] = problem(set.descriptions?.[status] ?? DESCRIPTIONS[status] ?? "Error", status, set.api);
  }
  return responses;
}

/** Success headers: the RateLimit pair under /api, plus the operation's own. */
export function successHeaders(api: boolean, own: Record<string, Header> = {}): Record<string, Header> | undefined {
  const headers = { ...(api ? RATE_LIMIT_HEADERS : {}), ...own };
  return Object.keys(headers).length > 0 ? headers : undefined;
}

export const IDEMPOTENT_REPLAYED = header("`true` when this is the stored answer to an earlier request with this key");

/**
 * Answers to requests that match no operation: 404 for an unknown path, 405 with `Allow` for a
 * known path and another method, and the steps that come before routing (size checks, and under
 * /api the rate limit). Published as reusable components (no operation owns them).
 */
export const UNMATCHED_RESPONSES = {
  NotFound: problem("No such route", 404),
  MethodNotAllowed: {
    ...problem("The path exists; the method does not (see Allow)", 405),
    headers: { ...RATE_LIMIT_HEADERS, Allow: header("The methods this path takes", true) },
  },
  PayloadTooLarge: problem(DESCRIPTIONS[413] as string, 413),
  RequestHeaderFieldsTooLarge: problem(DESCRIPTIONS[431] as string, 431),
  TooManyRequests: problem(DESCRIPTIONS[429] as string, 429),
  ServiceUnavailable: problem(DESCRIPTIONS[503] as string, 503),
} as const;
