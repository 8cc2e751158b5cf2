import type { MiddlewareHandler } from "hono";
import { ProblemException } from "#shared/problem";
import { bearerToken, type TokenVerifier } from "../auth/verifier";
import type { GatewayApp } from "../context";

/**
 * The token check: a valid Bearer token gives the request a user; anything else leaves it
 * anonymous, remembering whether a bad token was presented so a protected route can answer
 * `invalid_token`. Tokens are read from the Authorization header only, never the query string.
 */
export function authenticate(getVerifier: (env: Env) => TokenVerifier): MiddlewareHandler<GatewayApp> {
  return async function authenticateMiddleware(c, next) {
    const credentials = bearerToken(c.req.header("authorization"));
    if (credentials.kind === "bearer") {
      const result = credentials.token
        ? await getVerifier(c.env)(credentials.token)
        : { ok: false as const, reason: "empty token" };
      if (result.ok) c.set("identity", result.identity);
      else {
        c.set("tokenError", true);
        c.get("log").info("token refused", { reason: result.reason });
      }
    }
    await next();
  };
}

const REALM = 'Bearer realm="edge-shop"';

export type Access = "public" | "user" | "admin" | { selfOrAdmin: string };

/** Route-level authorisation with RFC 6750 answers. */
export function authorize(access: Access): MiddlewareHandler<GatewayApp> {
  return async function authorizeMiddleware(c, next) {
    if (access === "public") return next();
    const identity = c.get("identity");
    if (!identity) {
      if (c.get("tokenError")) {
        throw new ProblemException("invalid_token", {
          detail: "The access token is invalid or expired.",
          headers: {
            "www-authenticate": `${REALM}, error="invalid_token", error_description="The access token is invalid or expired"`,
          },
        });
      }
      throw new ProblemException("unauthorized", {
        detail: "Send an access token.",
        headers: { "www-authenticate": REALM },
      });
    }
    const allowed =
      identity.role === "admin" ||
      access === "user" ||
      (typeof access === "object" && c.req.param(access.selfOrAdmin) === identity.userId);
    if (!allowed) {
      throw new ProblemException("insufficient_scope", {
        detail: "Your role does not allow this.",
        headers: { "www-authenticate": `${REALM}, error="insufficient_scope"` },
      });
    }
    return next();
  };
}
