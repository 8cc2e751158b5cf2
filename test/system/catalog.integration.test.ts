import { describe, expect, it } from "vitest";
import { call, problemOf, registerAndLogin } from "./helpers";

describe("catalog through the gateway", () => {
  it("lets admins manage products and shows stock detail to admins only", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const product = { name: "Gateway mug", priceCents: 1500, currency: "EUR", stock: 7 };

    const refused = await call("/api/products", { token: customer.accessToken, json: product });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop", error="insufficient_scope"');
    expect((await call("/api/products", { json: product })).status).toBe(401);

    const created = await call("/api/products", { token: admin.accessToken, json: product });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const asAnyone = (await (await call(`/api/products/${id}`)).json()) as Record<string, unknown>;
    expect(asAnyone).toMatchObject({ id, name: "Gateway mug", priceCents: 1500, currency: "EUR", available: 7 });
    expect(asAnyone).not.toHaveProperty("reserved");
    const asAdmin = (await (await call(`/api/products/${id}`, { token: admin.accessToken })).json()) as Record<
      string,
      unknown
    >;
    expect(asAdmin).toMatchObject({ available: 7, reserved: 0, sold: 0 });

    const restocked = await call(`/api/products/${id}/restock`, { token: admin.accessToken, json: { quantity: 3 } });
    expect(await restocked.json()).toMatchObject({ available: 10 });
  });

  it("validates at the gateway: a client's own stock fields or a bad price never reach the catalog", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const bad = await call("/api/products", {
      token: admin.accessToken,
      json: { name: "x", priceCents: -1, currency: "euro", stock: 1, sold: 5 },
    });
    expect(bad.status).toBe(400);
    const paths = ((await problemOf(bad)).errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["currency", "priceCents", "sold"]);
  });

  it("pages the public list with a clamped limit", async () => {
    const page = (await (await call("/api/products?limit=1000")).json()) as {
      items: unknown[];
      nextCursor: string | null;
    };
    expect(page.items.length).toBeLessThanOrEqual(100);
    expect((await call("/api/products/prd_nope")).status).toBe(400);
  });
});
