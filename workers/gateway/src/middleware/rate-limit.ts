import type { MiddlewareHandler } from "hono";
import type { BucketSpec, Decision } from "../../../../durable-objects/rate-limiter/rate-limiter";
import { errorFields } from "../../../shared/src/log";
import { ProblemException } from "../../../shared/src/problem";
import { gatewayConfig } from "../config";
import type { GatewayApp } from "../context";
import { clientNetwork, rateLimitHeaders } from "../rate-limit/policies";

const LOGIN_PATH = "/api/auth/login";

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
 * anonymous client's network. A login counts in the client network's object under both `anon` and
 * `login:<email>`, so that one request's buckets are decided together and a refusal takes nothing.
 *
 * When the limiter itself fails, ordinary requests are served without a limit if
 * RATE_LIMIT_FAILURE_MODE is "open" (availability first: limiting protects, it is not
 * correctness), and refused with 503 if "closed". Logins always fail closed: the login limit is the
 * brute-force guard, and it is never skipped.
 */
export function rateLimit(): MiddlewareHandler<GatewayApp> {
  return async function rateLimitMiddleware(c, next) {
    const config = gatewayConfig(c.env);
    const identity = c.get("identity");
    const isLogin = c.req.method === "POST" && new URL(c.req.url).pathname === LOGIN_PATH;
    let subject: string;
    let specs: BucketSpec[];
    if (isLogin) {
      subject = `ip:${clientNetwork(c.req.header("cf-connecting-ip"))}`;
      const email = await loginEmail(c);
      specs = [config.RATE_LIMIT_ANON, { ...config.RATE_LIMIT_LOGIN, key: `login:${email}` }];
    } else if (identity) {
      subject = `user:${identity.userId}`;
      specs = [config.RATE_LIMIT_USER];
    } else {
      subject = `ip:${clientNetwork(c.req.header("cf-connecting-ip"))}`;
      specs = [config.RATE_LIMIT_ANON];
    }

    let decision: Decision;
    try {
      decision = await c.env.RATE_LIMITER.getByName(subject).take(specs);
    } catch (error) {
      c.get("log").error("rate limiter failed", { subject, ...errorFields(error) });
      if (isLogin || config.RATE_LIMIT_FAILURE_MODE === "closed") {
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
