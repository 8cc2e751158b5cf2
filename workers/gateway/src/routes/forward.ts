import type { Context } from "hono";
import { INTERNAL_HEADER_PREFIX, REQUEST_ID_HEADER, writeIdentity } from "#shared/identity";
import { ProblemException } from "#shared/problem";
import { span } from "#shared/span";
import { formatTraceparent } from "#shared/trace";
import type { GatewayApp } from "../context";

/** Client headers a service may see. Everything else, Authorization included, stays at the gateway. */
const FORWARDED_HEADERS = ["accept", "accept-language", "content-type", "idempotency-key", "user-agent"];

/**
 * Forwards a validated public request to a service's HTTP app over its service binding, with the
 * verified identity, the request id and the trace in headers that only the gateway sets.
 */
export async function forward(c: Context<GatewayApp>, service: Fetcher): Promise<Response> {
  const url = new URL(c.req.url);
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  writeIdentity(headers, c.get("identity"));
  headers.set(REQUEST_ID_HEADER, c.get("requestId"));
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  const body = hasBody ? await c.req.arrayBuffer() : undefined;
  // The call is a span of the request; the service's own request span is its child.
  const upstream = await span<Response>(
    {
      service: "shop-gateway",
      name: `forward ${c.req.method} ${url.pathname}`,
      parent: c.get("trace"),
      outcome: (response) => String(response.status),
    },
    (trace) => {
      headers.set("traceparent", formatTraceparent(trace));
      return service.fetch(`https://service.internal${url.pathname}${url.search}`, {
        method: c.req.method,
        headers,
        body,
      });
    },
  );
  if (upstream.status >= 500) {
    throw new ProblemException("bad_gateway", {
      detail: "A service behind the gateway failed.",
      internal: `upstream ${url.pathname} answered ${upstream.status}: ${(await upstream.text()).slice(0, 500)}`,
    });
  }
  const response = new Response(upstream.body, upstream);
  for (const name of [...response.headers.keys()]) {
    if (name.startsWith(INTERNAL_HEADER_PREFIX)) response.headers.delete(name);
  }
  return response;
}
