import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, call, problemOf, registerAndLogin } from "./helpers";

async function roleOf(id: string): Promise<string | undefined> {
  const row = await env.USERS_DB.prepare("SELECT role FROM users WHERE id = ?").bind(id).first<{ role: string }>();
  return row?.role;
}

describe("identity headers", () => {
  it("ignores client-sent identity headers without a token", async () => {
    const victim = await registerAndLogin();
    const res = await call(`/api/users/${victim.id}`, {
      headers: { "x-shop-user-id": victim.id, "x-shop-user-role": "admin" },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop"');
  });

  it("ignores a spoofed admin role beside a customer token", async () => {
    const mallory = await registerAndLogin();
    const victim = await registerAndLogin();
    const spoof = { "x-shop-user-id": victim.id, "x-shop-user-role": "admin", "X-Shop-User-Role": "admin" };
    const read = await call(`/api/users/${victim.id}`, { token: mallory.accessToken, headers: spoof });
    expect(read.status).toBe(403);
    const promote = await call(`/api/users/${mallory.id}/role`, {
      method: "PUT",
      token: mallory.accessToken,
      headers: spoof,
      json: { role: "admin" },
    });
    expect(promote.status).toBe(403);
    expect(promote.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop", error="insufficient_scope"');
    expect(await roleOf(mallory.id)).toBe("customer");
    // /me answers with the token's user, not the spoofed one.
    const me = (await (await call("/api/users/me", { token: mallory.accessToken, headers: spoof })).json()) as {
      id: string;
    };
    expect(me.id).toBe(mallory.id);
  });
});

describe("one user and another", () => {
  it("cannot read or patch another user's profile", async () => {
    const alice = await registerAndLogin();
    const bob = await registerAndLogin();
    expect((await call(`/api/users/${bob.id}`, { token: alice.accessToken })).status).toBe(403);
    const patch = await call(`/api/users/${bob.id}`, {
      method: "PATCH",
      token: alice.accessToken,
      json: { name: "pwned" },
    });
    expect(patch.status).toBe(403);
    const bobNow = (await (await call("/api/users/me", { token: bob.accessToken })).json()) as { name: string };
    expect(bobNow.name).not.toBe("pwned");
  });

  it("lets an admin read, patch and promote anyone", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const bob = await registerAndLogin();
    expect((await call(`/api/users/${bob.id}`, { token: admin.accessToken })).status).toBe(200);
    const patched = await call(`/api/users/${bob.id}`, {
      method: "PATCH",
      token: admin.accessToken,
      json: { name: "Robert" },
    });
    expect(await patched.json()).toMatchObject({ id: bob.id, name: "Robert" });
    const promoted = await call(`/api/users/${bob.id}/role`, {
      method: "PUT",
      token: admin.accessToken,
      json: { role: "admin" },
    });
    expect(promoted.status).toBe(200);
    expect(await roleOf(bob.id)).toBe("admin");
  });

  it("refuses mass assignment of role, id or createdAt and changes nothing", async () => {
    const user = await registerAndLogin();
    for (const extra of [{ role: "admin" }, { id: "usr_00000000000000000000000000" }, { createdAt: "2000-01-01" }]) {
      const res = await call(`/api/users/${user.id}`, {
        method: "PATCH",
        token: user.accessToken,
        json: { name: "x", ...extra },
      });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
    expect(await roleOf(user.id)).toBe("customer");
    const me = (await (await call("/api/users/me", { token: user.accessToken })).json()) as { name: string };
    expect(me.name).not.toBe("x");
  });
});

describe("bad input", () => {
  it("answers malformed JSON with a 400 problem", async () => {
    const res = await call("/api/auth/register", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({
      status: 400,
      title: expect.any(String),
      instance: expect.stringMatching(/^urn:uuid:/),
    });
  });

  it("lists every invalid field", async () => {
    const res = await call("/api/auth/register", {
      json: { email: "nope", password: "short", name: "", phone: "555" },
    });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    const paths = (problem.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["email", "name", "password", "phone"]);
  });

  it("refuses a body over 64 KB with 413, declared or streamed, and writes nothing", async () => {
    const before = await env.USERS_DB.prepare("SELECT COUNT(*) AS n FROM users").first<{ n: number }>();
    const big = JSON.stringify({
      email: "big@example.com",
      password: "a-long-enough-password",
      name: "x".repeat(70_000),
    });
    const declared = await call("/api/auth/register", { body: big, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect((await problemOf(declared)).code).toBe("payload_too_large");
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await call("/api/auth/register", {
      body: stream,
      headers: { "content-type": "application/json" },
    });
    expect(streamed.status).toBe(413);
    const after = await env.USERS_DB.prepare("SELECT COUNT(*) AS n FROM users").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("answers unknown routes with 404 and wrong methods with 405 and Allow", async () => {
    const missing = await call("/api/nothing-here");
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).code).toBe("not_found");
    const wrong = await call("/api/auth/login", { method: "GET" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await problemOf(wrong)).code).toBe("method_not_allowed");
  });

  it("answers a malformed user id with 400, not 404 or 500", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const res = await call("/api/users/not-an-id", { token: admin.accessToken });
    expect(res.status).toBe(400);
  });
});

describe("operations", () => {
  it("lists the circuit breakers for admins only", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const res = await call("/api/admin/breakers", { token: admin.accessToken });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { name: string; state: string }[] };
    expect(items.map((b) => b.name)).toEqual(["catalog", "payments", "psp:a", "psp:b"]);
    expect(items.every((b) => b.state === "closed")).toBe(true);
    expect((await call("/api/admin/breakers", { token: customer.accessToken })).status).toBe(403);
    expect((await call("/api/admin/breakers")).status).toBe(401);
  });
});

describe("platform endpoints", () => {
  it("reports health of every bound service without rate limiting", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ok",
      services: {
        users: "ok",
        catalog: "ok",
        resilience: "ok",
        payments: "ok",
        orders: "ok",
        events: "ok",
        notifications: "ok",
        alerts: "ok",
      },
    });
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  it("serves an OpenAPI 3.1 document covering every route", async () => {
    const doc = (await (await call("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/.well-known/jwks.json",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/password",
        "/api/auth/refresh",
        "/api/auth/register",
        "/api/admin/alerts",
        "/api/admin/audit",
        "/api/admin/audit/verify",
        "/api/admin/breakers",
        "/api/admin/dead-letters",
        "/api/admin/dead-letters/redrive",
        "/api/admin/events",
        "/api/admin/events/replay",
        "/api/admin/faults",
        "/api/admin/health",
        "/api/admin/metrics",
        "/api/admin/sagas",
        "/api/admin/sagas/{id}/retry",
        "/api/notifications",
        "/api/orders",
        "/api/orders/{id}",
        "/api/orders/{id}/cancel",
        "/api/orders/{id}/ship",
        "/api/products",
        "/api/products/{id}",
        "/api/products/{id}/restock",
        "/api/users/me",
        "/api/users/{id}",
        "/api/users/{id}/role",
        "/health",
      ].sort(),
    );
    expect(doc.paths["/api/users/{id}"]).toHaveProperty("patch");
  });

  it("serves the docs page and its assets from this Worker, with a self-only CSP", async () => {
    const page = await call("/docs/");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('src="/docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const bundle = await call("/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it("serves the operations console from this Worker under a strict CSP: no inline script, no other origin", async () => {
    const page = await call("/admin");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('src="/admin/console.js"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const csp = page.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    const bundle = await call("/admin/console.js");
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toContain("/api/admin/");
  });

  it("sets security headers, a request id and continues the caller's trace", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await call("/api/nothing", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    const requestId = res.headers.get("x-request-id");
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect((await problemOf(res)).instance).toBe(`urn:uuid:${requestId}`);
  });

  it("allows CORS only for configured origins", async () => {
    const preflight = (origin: string) =>
      call("/api/auth/login", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const allowed = await preflight("http://localhost:3000");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const denied = await preflight("https://evil.example");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never leaks a stack trace", async () => {
    const res = await call("/api/auth/register", { json: [1, 2, 3] });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(BASE).toBeDefined();
  });
});
