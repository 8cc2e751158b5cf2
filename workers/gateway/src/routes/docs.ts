import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayApp } from "../context";

/**
 * `/docs`: Swagger UI, with every asset served by this Worker from its static assets (copied from
 * the pinned swagger-ui-dist package by scripts/copy-docs-assets.ts), never from a CDN.
 */
export function mountDocs(app: OpenAPIHono<GatewayApp>): void {
  app.get("/docs", (c) => c.redirect("/docs/", 301));
  app.get("/docs/*", async (c) => {
    const path = new URL(c.req.url).pathname;
    const asset = path === "/docs/" ? "/docs/index.html" : path;
    const response = await c.env.ASSETS.fetch(new URL(asset, c.req.url));
    if (response.status === 404) return c.notFound();
    return new Response(response.body, response);
  });
}
