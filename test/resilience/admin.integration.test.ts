import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Breaker } from "#shared/contracts/breaker";
import { openIt } from "./helpers";

/** The dependencies in workers/resilience/wrangler.toml's BREAKER_NAMES, in order. */
const CONFIGURED = ["catalog", "payments", "psp:a", "psp:b"];
const REQUEST_ID = "0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";

/** Plays the gateway: the verified identity travels in the headers only the gateway sets. */
function get(path: string, role?: "admin" | "customer", headers: Record<string, string> = {}) {
  const all = new Headers(headers);
  if (role) {
    all.set("x-shop-user-id", `usr_${role}`);
    all.set("x-shop-user-role", role);
  }
  return exports.default.fetch(new Request(`https://resilience.internal${path}`, { headers: all }));
}

describe("GET /api/admin/breakers", () => {
  it("lists every configured breaker with its state, for an admin", async () => {
    await openIt(env.CIRCUIT_BREAKER.getByName("psp:b"));

    const response = await get("/api/admin/breakers", "admin");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as { items: Breaker[]; nextCursor: null };
    expect(body.nextCursor).toBeNull();
    expect(body.items.map((b) => b.name)).toEqual(CONFIGURED);
    const byName = Object.fromEntries(body.items.map((b) => [b.name, b]));
    expect(byName["psp:b"]).toMatchObject({ state: "open", failures: 5, openedAt: expect.any(String) });
    expect(byName.catalog).toMatchObject({ state: "closed", failures: 0 });
    for (const breaker of body.items) {
      expect(new Date(breaker.lastTransitionAt).toISOString()).toBe(breaker.lastTransitionAt);
    }
  });

  it("refuses a customer with a 403 insufficient_scope problem", async () => {
    const response = await get("/api/admin/breakers", "customer", { "x-request-id": REQUEST_ID });

    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({
      status: 403,
      code: "insufficient_scope",
      instance: `urn:uuid:${REQUEST_ID}`,
    });
  });

  it("refuses a request without identity with a 401 problem", async () => {
    const response = await get("/api/admin/breakers");

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("treats an unknown role as no identity", async () => {
    const response = await get("/api/admin/breakers", undefined, {
      "x-shop-user-id": "usr_x",
      "x-shop-user-role": "superuser",
    });

    expect(response.status).toBe(401);
  });

  it("answers other paths with a 404 problem", async () => {
    const response = await get("/api/admin/nothing", "admin");

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found" });
  });
});

describe("RPC", () => {
  it("breakers() snapshots every configured breaker, in order, without changing one", async () => {
    const payments = env.CIRCUIT_BREAKER.getByName("payments");
    await payments.record("failure");
    const before = await payments.snapshot();

    const breakers = await exports.default.breakers();

    expect(breakers.map((b) => b.name)).toEqual(CONFIGURED);
    expect(breakers.find((b) => b.name === "payments")).toEqual(before);
    expect(await payments.snapshot()).toEqual(before);
  });

  it("health() answers ok", async () => {
    expect(await exports.default.health()).toEqual({ status: "ok", service: "shop-resilience" });
  });
});
