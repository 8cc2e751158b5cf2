import type { MiddlewareHandler } from "hono";
import { INTERNAL_HEADER_PREFIX } from "#shared/identity";
import type { GatewayApp } from "../context";

/**
 * Drops every client-sent internal header (`x-shop-*`) before anything reads the request, so no
 * client can claim an identity. The forwarder sets the verified ones itself.
 */
export function stripInternalHeaders(): MiddlewareHandler<GatewayApp> {
  return async function stripInternalHeadersMiddleware(c, next) {
    const names = [...c.req.raw.headers.keys()].filter((name) => name.toLowerCase().startsWith(INTERNAL_HEADER_PREFIX));
    if (names.length > 0) {
      const headers = new Headers(c.req.raw.headers);
      for (const name of names) headers.delete(name);
      c.req.raw = new Request(c.req.raw, { headers });
    }
    await next();
  };
}
