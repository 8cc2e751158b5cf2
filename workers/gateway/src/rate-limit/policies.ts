import type * as z from "zod";
import type { BucketSpec, Window } from "#do/rate-limiter/sliding-window";

export type PolicyName = "anon" | "user" | "login" | "password";

/**
 * A policy is written `limit/windowSeconds`, several windows separated by commas; the first is the
 * headline window (SPEC.md section 3), any others must be looser. Example: `600/60,20000/86400`.
 */
export function parsePolicy(name: PolicyName, text: string, ctx?: z.RefinementCtx): BucketSpec {
  // With a zod context (reading config) problems become issues; without one they throw.
  const report = (message: string): void => {
    if (!ctx) throw new Error(`rate limit "${name}": ${message}`);
    ctx.addIssue({ code: "custom", message: `rate limit "${name}": ${message}` });
  };
  const windows: Window[] = [];
  for (const part of text.split(",")) {
    const match = /^\s*([1-9]\d*)\s*\/\s*([1-9]\d*)\s*$/.exec(part);
    if (!match) {
      report(`"${part}" is not limit/seconds (both at least 1)`);
      return { name, key: name, windows: [] };
    }
    windows.push({ limit: Number(match[1]), windowSeconds: Number(match[2]) });
  }
  const [headline] = windows as [Window];
  for (const extra of windows.slice(1)) {
    // Looser: a higher limit, and never a higher average rate than the headline window.
    if (extra.limit / extra.windowSeconds > headline.limit / headline.windowSeconds || extra.limit <= headline.limit) {
      report(
        `extra window ${extra.limit}/${extra.windowSeconds} must be looser than ${headline.limit}/${headline.windowSeconds}`,
      );
    }
  }
  return { name, key: name, windows };
}

/** The rate-limit subject of an anonymous client: its IPv4 address, or the /64 of its IPv6 address. */
export function clientNetwork(ip: string | undefined): string {
  if (!ip) return "unknown";
  const address = ip.trim().toLowerCase();
  if (!address.includes(":")) return address;
  // An IPv4 client written as IPv4-mapped IPv6 (::ffff:a.b.c.d) is that IPv4 client.
  const mapped = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  const [head = "", tail = ""] = address.split("::", 2);
  const headGroups = head ? head.split(":") : [];
  const tailGroups = address.includes("::") && tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups; it never reaches the first four.
  const tailCount = tailGroups.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const missing = address.includes("::") ? 8 - headGroups.length - tailCount : 0;
  const groups = [...headGroups, ...Array(Math.max(0, missing)).fill("0"), ...tailGroups];
  const prefix = groups
    .slice(0, 4)
    .map((g) => (g.includes(".") ? g : (Number.parseInt(g || "0", 16) || 0).toString(16)));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}

export type RateLimitPolicies = Record<PolicyName, BucketSpec>;

/** Guessing a password: a login (by client network and email) or a password change (by user). */
export const LOGIN_PATH = "/api/auth/login";
export const PASSWORD_PATH = "/api/auth/password";

export interface RateLimitRequest {
  method: string;
  path: string;
  /** The verified `sub`, if a valid token came with the request. */
  userId?: string | undefined;
  /** `clientNetwork()` of the client's address. */
  network: string;
  /** For a login: the lowercased email it names ("" if none). */
  email?: string | undefined;
}

export interface RateLimitPlan {
  /** The RateLimiter object that decides: `ip:<network>` or `user:<sub>`. */
  subject: string;
  /** Every bucket of one object, decided together: if any refuses, none is charged. */
  specs: BucketSpec[];
  /** A brute-force guard is never skipped: when the limiter fails, the request is refused. */
  failClosed: boolean;
}

/**
 * Which object and buckets decide a request (SPEC.md section 3). A login counts under `anon` and
 * `login:<email>` in its network's object; a password change (which tests the current password,
 * so it is a guessing oracle like login) under `user` and `password` in its user's object.
 */
export function rateLimitPlan(request: RateLimitRequest, policies: RateLimitPolicies): RateLimitPlan {
  const anonymous = `ip:${request.network}`;
  if (request.method === "POST" && request.path === LOGIN_PATH) {
    return {
      subject: anonymous,
      specs: [policies.anon, { ...policies.login, key: `login:${request.email ?? ""}` }],
      failClosed: true,
    };
  }
  if (request.userId === undefined) return { subject: anonymous, specs: [policies.anon], failClosed: false };
  const subject = `user:${request.userId}`;
  if (request.method === "POST" && request.path === PASSWORD_PATH) {
    return { subject, specs: [policies.user, policies.password], failClosed: true };
  }
  return { subject, specs: [policies.user], failClosed: false };
}

/** RateLimit-Policy and RateLimit header values (IETF draft, structured-field lists). */
export function rateLimitHeaders(
  buckets: { name: string; limit: number; windowSeconds: number; remaining: number; resetSeconds: number }[],
): {
  policy: string;
  state: string;
} {
  return {
    policy: buckets.map((b) => `"${b.name}";q=${b.limit};w=${b.windowSeconds}`).join(", "),
    state: buckets.map((b) => `"${b.name}";r=${b.remaining};t=${b.resetSeconds}`).join(", "),
  };
}
