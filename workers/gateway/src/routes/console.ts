import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayApp } from "../context";

/**
 * `/admin`: the operations console, a static page and its bundle served by this Worker from its
 * static assets (built from `workers/gateway/console/` by scripts/gateway-assets.ts). Anyone may
 * load the page; every call it makes is an admin API call with the operator's token.
 */
export function mountConsole(app: OpenAPIHono<GatewayApp>): void {
  app.get("/admin", async (c) => {
    const response = await c.env.ASSETS.fetch(new URL("/admin/index.html", c.req.url));
    if (response.status === 404) return c.notFound();
    return new Response(response.body, response);
  });
  app.get("/admin/", (c) => c.redirect("/admin", 301));
  app.get("/admin/*", async (c) => {
    const response = await c.env.ASSETS.fetch(new URL(new URL(c.req.url).pathname, c.req.url));
    if (response.status === 404) return c.notFound();
    return new Response(response.body, response);
  });
}
