import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProblemException } from "#shared/problem";
import { gatewayConfig, perConfig } from "../config";
import type { GatewayApp } from "../context";

/**
 * Size checks before any work: an Authorization header over the limit is a 431 (it is never
 * parsed), a body over the limit a 413, whether it declares its length or streams.
 */
export function sizeLimits(): MiddlewareHandler<GatewayApp> {
  // Built once per configuration (so once per isolate), not per request.
  const limitBody = perConfig((config) =>
    bodyLimit({
      maxSize: config.MAX_BODY_BYTES,
      onError: () => {
        throw new ProblemException("payload_too_large", {
          detail: `The request body is over ${config.MAX_BODY_BYTES} bytes.`,
        });
      },
    }),
  );
  const encoder = new TextEncoder();
  return async function sizeLimitsMiddleware(c, next) {
    const config = gatewayConfig(c.env);
    const authorization = c.req.header("authorization");
    if (authorization && encoder.encode(authorization).length > config.MAX_AUTHORIZATION_BYTES) {
      throw new ProblemException("header_too_large", {
        detail: `The Authorization header is over ${config.MAX_AUTHORIZATION_BYTES} bytes.`,
      });
    }
    return limitBody(config)(c, next);
  };
}
