import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createGateway } from "../../workers/gateway/src/app";
import { call, expectStatus, freshIp, registerAndLogin, shopClient } from "./helpers";

/**
 * GET /health is anonymous and unlimited, so its fan-out is memoised per isolate (SPEC.md section
 * 2): a burst shares one ping per service. The detailed view is for admins only, read through the
 * typed client; the counted bursts call a gateway built over wrapped bindings, and `?detail=1` is
 * a parameter the contract does not have, so those stay raw.
 */

const SERVICES = {
  users: "USERS",
  catalog: "CATALOG",
  resilience: "RESILIENCE",
  payments: "PAYMENTS",
  orders: "ORDERS",
  events: "EVENTS",
  notifications: "NOTIFICATIONS",
  alerts: "ALERTS",
} as const;
type Service = keyof typeof SERVICES;

/** The test env with every service binding wrapped to count its `health()` calls. */
function countingEnv(): { env: Env; pings: Record<Service, number> } {
  const pings = Object.fromEntries(Object.keys(SERVICES).map((name) => [name, 0])) as Record<Service, number>;
  const wrapped: Record<string, unknown> = {};
  for (const [name, binding] of Object.entries(SERVICES) as [Service, keyof Env][]) {
    const real = env[binding] as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
    wrapped[binding] = new Proxy(
      {},
      {
        get(_target, property) {
          if (property === "then") return undefined;
          if (property === "health") {
            return () => {
              pings[name] += 1;
              return real.health?.();
            };
          }
          return (...args: unknown[]) => real[property]?.(...args);
        },
      },
    );
  }
  return { env: { ...env, ...wrapped } as Env, pings };
}

const once = Object.fromEntries(Object.keys(SERVICES).map((name) => [name, 1]));

describe("GET /health", () => {
  it("a burst of 25 concurrent calls gets one answer from one ping per service", async () => {
    const gateway = createGateway(); // a fresh isolate's gateway: nothing memoised yet
    const { env: counted, pings } = countingEnv();
    const responses = await Promise.all(
      Array.from({ length: 25 }, () =>
        gateway.request("/health", { headers: { "cf-connecting-ip": freshIp() } }, counted),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect(bodies[0]).toMatchObject({ status: "ok", services: { users: "ok", notifications: "ok" } });
    expect(pings).toEqual(once);
  });

  it("says nothing more than statuses to anonymous callers", async () => {
    const res = await call("/health?detail=1");
    expect(res.status).toBe(200);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(["services", "status"]);
  });
});

describe("GET /api/admin/health", () => {
  it("is for admins only: 401 without a token, 403 for a customer", async () => {
    const anonymous = await shopClient().api.GET("/api/admin/health");
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get("content-type")).toBe("application/problem+json");
    expect(anonymous.error?.code).toBe("unauthorized");
    const customer = await registerAndLogin();
    const forbidden = await customer.shop.api.GET("/api/admin/health");
    expect(forbidden.response.status).toBe(403);
  });

  it("gives an admin each service with its latency, and the breakers (provider endpoints included)", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const res = await admin.shop.api.GET("/api/admin/health");
    expect(res.response.headers.get("ratelimit-policy")).toContain('"user"');
    const body = expectStatus(res, 200) as {
      status: string;
      checkedAt: string;
      services: Record<string, { status: string; latencyMs: number; error?: string }>;
      breakers: { name: string; state: string }[];
    };
    expect(body.status).toBe("ok");
    expect(Number.isNaN(Date.parse(body.checkedAt))).toBe(false);
    expect(Object.keys(body.services).sort()).toEqual(Object.keys(SERVICES).sort());
    for (const service of Object.values(body.services)) {
      expect(service.status).toBe("ok");
      expect(service.latencyMs).toBeGreaterThanOrEqual(0);
      expect(service.error).toBeUndefined();
    }
    expect(body.breakers.map((b) => b.name)).toEqual(expect.arrayContaining(["payments", "psp:a", "psp:b"]));
  });

  it("checks afresh on every call (it is rate limited, not memoised)", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const gateway = createGateway();
    const { env: counted, pings } = countingEnv();
    for (let i = 0; i < 2; i++) {
      const res = await gateway.request(
        "/api/admin/health",
        { headers: { authorization: `Bearer ${admin.accessToken}`, "cf-connecting-ip": freshIp() } },
        counted,
      );
      expect(res.status, await res.clone().text()).toBe(200);
    }
    expect(pings).toEqual(Object.fromEntries(Object.keys(SERVICES).map((name) => [name, 2])));
  });
});
