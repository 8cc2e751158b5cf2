import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { AuditEntry, AuditPage, MetricsReport } from "#shared/contracts/ops";
import type { operations } from "../../clients/typescript/src/index";
import { call, expectStatus, problemOf, registerAndLogin, shopClient, type TestUser } from "./helpers";

// Admins and customers use the typed client (`user.shop`); the invalid filters stay raw requests.
type AuditQuery = NonNullable<operations["listAudit"]["parameters"]["query"]>;

async function auditOf(user: TestUser, query: AuditQuery): Promise<AuditEntry[]> {
  const response = await user.shop.api.GET("/api/admin/audit", { params: { query } });
  return (expectStatus(response, 200) as AuditPage).items;
}

async function verify(user: TestUser) {
  return expectStatus(await user.shop.api.GET("/api/admin/audit/verify"), 200);
}

async function createProduct(user: TestUser): Promise<string> {
  const created = await user.shop.api.POST("/api/products", {
    body: { name: `Audit ${crypto.randomUUID().slice(0, 6)}`, priceCents: 500, currency: "EUR", stock: 2 },
  });
  return expectStatus(created, 201).id;
}

async function metrics(user: TestUser): Promise<MetricsReport> {
  const response = await user.shop.api.GET("/api/admin/metrics", { params: { query: { window: "15m" } } });
  return expectStatus(response, 200) as MetricsReport;
}

const sagasOf = async (user: TestUser): Promise<MetricsReport["sagas"]> => (await metrics(user)).sagas;

describe("audit trail through the gateway", () => {
  it("records an admin's role change once, with before and after, the request id and the trace id", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const { response: changed } = await admin.shop.api.PUT("/api/users/{id}/role", {
      params: { path: { id: customer.id } },
      body: { role: "admin" },
    });
    expect(changed.status).toBe(200);
    const traceId = changed.headers.get("traceparent")?.split("-")[1];

    const entries = await auditOf(admin, { action: "user.role.set", target: `user:${customer.id}` });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { type: "admin", id: admin.id },
      action: "user.role.set",
      target: `user:${customer.id}`,
      before: { role: "customer" },
      after: { role: "admin" },
      requestId: changed.headers.get("x-request-id"),
      traceId,
    });
    expect((await auditOf(admin, { actor: admin.id })).map((e) => e.seq)).toContain(entries[0]?.seq);
    expect(await verify(admin)).toMatchObject({ valid: true });
  });

  it("records npm run admin:create's admins (its SQL on users-db) from their events, as system:cli", {
    timeout: 60_000,
  }, async () => {
    const { created, promoted } = env.CLI_ADMINS;
    const customer = shopClient();
    const registered = await customer.api.POST("/api/auth/register", {
      body: { email: promoted.email, password: promoted.password, name: promoted.name },
    });
    const { id: promotedId } = expectStatus(registered, 201);
    // What the script runs (a second run raises nothing: test/unit/admin-seed.unit.test.ts).
    for (const { sql } of [created, promoted]) await env.USERS_DB.exec(sql);
    expect((await call("/health")).status).toBe(200); // wakes the users relay, as shop-alerts' checks do
    const { id: createdId } = (await env.USERS_DB.prepare("SELECT id FROM users WHERE email = ?")
      .bind(created.email)
      .first<{ id: string }>()) as { id: string };

    // The new admin signs in and finds both in the trail once the relay has published the events.
    const tokens = await shopClient().login(created.email, created.password);
    const admin: TestUser = { id: createdId, ...created, ...tokens, shop: shopClient({ tokens }) };
    let entries: AuditEntry[] = [];
    await vi.waitFor(
      async () => {
        entries = await auditOf(admin, { action: "admin.create", actor: "cli" });
        const targets = entries.map((e) => e.target);
        if (!targets.includes(`user:${createdId}`) || !targets.includes(`user:${promotedId}`))
          throw new Error("not yet");
      },
      { timeout: 45_000, interval: 500 },
    );
    const mine = entries.filter((e) => [`user:${createdId}`, `user:${promotedId}`].includes(e.target));
    expect(mine).toHaveLength(2);
    expect(mine.find((e) => e.target === `user:${createdId}`)).toMatchObject({
      actor: { type: "system", id: "cli" },
      after: { email: created.email, role: "admin" },
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(mine.find((e) => e.target === `user:${promotedId}`)).toMatchObject({
      before: { role: "customer" },
      after: { email: promoted.email, role: "admin" },
    });
    expect(await verify(admin)).toMatchObject({ valid: true });
  });

  it("12 concurrent restocks by an admin give 12 entries in a chain that verifies", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const productId = await createProduct(admin);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        admin.shop.api.POST("/api/products/{id}/restock", {
          params: { path: { id: productId } },
          body: { quantity: 1 },
        }),
      ),
    );
    expect(answers.map((r) => r.response.status)).toEqual(Array(12).fill(200));
    const entries = await auditOf(admin, { target: `product:${productId}`, limit: 100 });
    expect(entries.filter((e) => e.action === "product.restock")).toHaveLength(12);
    expect(entries.filter((e) => e.action === "product.create")).toHaveLength(1);
    const restock = entries.find((e) => e.action === "product.restock");
    expect(restock?.after).toMatchObject({ input: { quantity: 1 }, result: { available: expect.any(Number) } });
    const seqs = entries.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(13);
    const result = await verify(admin);
    expect(result.valid).toBe(true);
    expect(result.checked).toBeGreaterThanOrEqual(13);
  });

  it("records nothing for a refused or failed call, and only admins read the trail", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const setRole = (user: TestUser, id: string) =>
      user.shop.api.PUT("/api/users/{id}/role", { params: { path: { id } }, body: { role: "admin" } });
    expect((await setRole(customer, customer.id)).response.status).toBe(403);
    expect((await setRole(admin, "usr_01m875rg4c56rja44hr7x250zz")).response.status).toBe(404);
    expect(await auditOf(admin, { target: `user:${customer.id}` })).toEqual([]);
    expect(await auditOf(admin, { target: "user:usr_01m875rg4c56rja44hr7x250zz" })).toEqual([]);

    expect((await customer.shop.api.GET("/api/admin/audit")).response.status).toBe(403);
    expect((await customer.shop.api.GET("/api/admin/audit/verify")).response.status).toBe(403);
    const badFilter = await call("/api/admin/audit?action=user.delete", { token: admin.accessToken });
    expect(badFilter.status).toBe(400);
    expect(await problemOf(badFilter)).toMatchObject({ status: 400 });
  });
});

describe("metrics through the gateway", () => {
  it("counts requests per route template from the local store, with breakers and dead letters", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const productId = await createProduct(admin);
    const anyone = shopClient();
    const getProduct = (id: string) => anyone.api.GET("/api/products/{id}", { params: { path: { id } } });
    for (let i = 0; i < 5; i++) expect((await getProduct(productId)).response.status).toBe(200);
    expect((await getProduct("prd_01m875rg4c56rja44hr7x250zz")).response.status).toBe(404);

    // Points are written after each answer (waitUntil): ask until they have all arrived.
    let report: MetricsReport | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      report = await metrics(admin);
      const route = report.requests.byRoute.find((r) => r.route === "/api/products/{id}" && r.method === "GET");
      if ((route?.count ?? 0) >= 6) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const route = report?.requests.byRoute.find((r) => r.route === "/api/products/{id}" && r.method === "GET");
    expect(route?.count).toBeGreaterThanOrEqual(6);
    expect(report?.source).toBe("local");
    expect(report?.window).toBe("15m");
    expect(report?.requests.count).toBeGreaterThanOrEqual(6);
    expect(report?.breakers.map((b) => b.name)).toEqual(expect.arrayContaining(["catalog", "payments"]));
    expect(report?.deadLetters).toEqual(expect.any(Number));
    // Ids never become routes: the template is the label.
    expect(report?.requests.byRoute.some((r) => r.route.includes(productId))).toBe(false);
  });

  it("counts a completed order's saga, which shop-orders writes to the local store", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await createProduct(admin);
    const before = await sagasOf(admin);
    const placed = await buyer.shop.api.POST("/api/orders", {
      params: { header: { "idempotency-key": crypto.randomUUID() } },
      body: { items: [{ productId, quantity: 1 }] },
    });
    expect(expectStatus(placed, 201).saga.state).toBe("completed");

    let after = before;
    for (let attempt = 0; attempt < 50 && after.completed <= before.completed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await sagasOf(admin);
    }
    expect(after.completed).toBeGreaterThan(before.completed);
    expect(after.p95DurationMs).toEqual(expect.any(Number));
  });

  it("an order's events give a real outbox lag, queue batches and notification sends", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await createProduct(admin);
    const placed = await buyer.shop.api.POST("/api/orders", {
      params: { header: { "idempotency-key": crypto.randomUUID() } },
      body: { items: [{ productId, quantity: 1 }] },
    });
    expect(expectStatus(placed, 201).saga.state).toBe("completed");
    // The events reach shop-events (outbox points), both queues' consumers (queue points) and the
    // sender (notification points) after the answer: ask until the email of the order was counted.
    let report: MetricsReport | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      report = await metrics(admin);
      const sent = report.notifications.find((n) => n.channel === "email" && n.outcome === "sent");
      if (report.outboxLagMs !== null && (sent?.count ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(report?.outboxLagMs).toEqual(expect.any(Number));
    expect(report?.outboxLagMs).toBe(report?.outbox.p95AgeMs);
    expect(report?.outbox.relayed).toBeGreaterThan(0);
    const queues = new Map(report?.queues.map((q) => [q.queue, q]));
    expect(queues.get("shop-events")?.messages).toBeGreaterThan(0);
    expect(queues.get("shop-notifications")?.messages).toBeGreaterThan(0);
    expect(report?.notifications).toEqual(
      expect.arrayContaining([expect.objectContaining({ channel: "email", outcome: "sent" })]),
    );
  });

  it("refuses an unknown window and a customer", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    expect((await call("/api/admin/metrics?window=7d", { token: admin.accessToken })).status).toBe(400);
    expect((await customer.shop.api.GET("/api/admin/metrics")).response.status).toBe(403);
  });
});

describe("alerts through the gateway", () => {
  it("lists alerts for an admin as {items} (firing first), and refuses a customer and no token", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const { items } = expectStatus(await admin.shop.api.GET("/api/admin/alerts"), 200);
    expect(Array.isArray(items)).toBe(true);
    const firstResolved = items.findIndex((a) => a.state === "resolved");
    if (firstResolved >= 0) expect(items.slice(firstResolved).every((a) => a.state === "resolved")).toBe(true);
    expect((await customer.shop.api.GET("/api/admin/alerts")).response.status).toBe(403);
    expect((await shopClient().api.GET("/api/admin/alerts")).response.status).toBe(401);
  });

  it("documents the route in OpenAPI, admin only", async () => {
    const spec = (await (await call("/openapi.json")).json()) as {
      paths: Record<string, { get?: { security?: unknown[] } }>;
    };
    expect(spec.paths["/api/admin/alerts"]?.get?.security).toEqual([{ bearer: [] }]);
  });
});
