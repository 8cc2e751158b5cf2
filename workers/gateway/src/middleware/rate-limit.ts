import type { MiddlewareHandler } from "hono";
import type { Decision } from "#do/rate-limiter/rate-limiter";
import { errorFields } from "#shared/log";
import { ProblemException } from "#shared/problem";
import { gatewayConfig, perConfig } from "../config";
import type { GatewayApp } from "../context";
import {
  clientNetwork,
  LOGIN_PATH,
  type RateLimitPolicies,
  rateLimitHeaders,
  rateLimitPlan,
} from "../rate-limit/policies";

async function loginEmail(c: Parameters<MiddlewareHandler<GatewayApp>>[0]): Promise<string> {
  try {
    const body = (await c.req.json()) as { email?: unknown };
    return typeof body?.email === "string" ? body.email.trim().toLowerCase() : "";
  } catch {
    return ""; // malformed bodies still count; validation answers them later
  }
}

/**
 * Rate limiting per SPEC.md section 3. One RateLimiter object per subject: a user's `sub`, or an
 * anonymous client's network; `rateLimitPlan` says which, and which buckets in it. A login counts
 * under `anon` and `login:<email>`, a password change under `user` and `password`: one request's
 * buckets live in one object and are decided together, so a refusal takes nothing from either.
 *
 * When the limiter itself fails, ordinary requests are served without a limit if
 * RATE_LIMIT_FAILURE_MODE is "open" (availability first: limiting protects, it is not
 * correctness), and refused with 503 if "closed". Logins and password changes always fail closed:
 * their limits are the brute-force guards, and they are never skipped.
 */
export function rateLimit(): MiddlewareHandler<GatewayApp> {
  // Built once per configuration (so once per isolate), not per request.
  const policiesOf = perConfig(
    (config): RateLimitPolicies => ({
      anon: config.RATE_LIMIT_ANON,
      user: config.RATE_LIMIT_USER,
      login: config.RATE_LIMIT_LOGIN,
      password: config.RATE_LIMIT_PASSWORD,
    }),
  );

  return async function rateLimitMiddleware(c, next) {
    const config = gatewayConfig(c.env);
    const method = c.req.method;
    // The path as the router sees it (percent-decoded), so an encoded login path is still a login.
    const path = c.req.path;
    const { subject, specs, failClosed } = rateLimitPlan(
      {
        method,
        path,
        userId: c.get("identity")?.userId,
        network: clientNetwork(c.req.header("cf-connecting-ip")),
        email: method === "POST" && path === LOGIN_PATH ? await loginEmail(c) : undefined,
      },
      policiesOf(config),
    );

    let decision: Decision;
    try {
      decision = await c.env.RATE_LIMITER.getByName(subject).take(specs);
    } catch (error) {
      c.get("log").error("rate limiter failed", { subject, ...errorFields(error) });
      if (failClosed || config.RATE_LIMIT_FAILURE_MODE === "closed") {
        throw new ProblemException("unavailable", {
          detail: "Rate limiting is unavailable right now; try again shortly.",
          headers: { "retry-after": "5" },
        });
      }
      return next();
    }

    const headers = rateLimitHeaders(decision.buckets);
    if (!decision.allowed) {
      throw new ProblemException("rate_limited", {
        detail: `Too many requests; retry in ${decision.retryAfterSeconds} s.`,
        headers: {
          "ratelimit-policy": headers.policy,
          ratelimit: headers.state,
          "retry-after": String(decision.retryAfterSeconds),
        },
      });
    }
    await next();
    c.res.headers.set("ratelimit-policy", headers.policy);
    c.res.headers.set("ratelimit", headers.state);
  };
}
