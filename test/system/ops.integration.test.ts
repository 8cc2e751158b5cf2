import { describe, expect, it } from "vitest";
import type { AuditEntry, AuditPage, MetricsReport } from "../../workers/shared/src/contracts/ops";
import { call, problemOf, registerAndLogin } from "./helpers";

async function auditOf(token: string, query: string): Promise<AuditEntry[]> {
  const response = await call(`/api/admin/audit?${query}`, { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as AuditPage).items;
}

async function verify(token: string) {
  const response = await call("/api/admin/audit/verify", { token });
  expect(response.status).toBe(200);
  return (await response.json()) as { valid: boolean; checked: number; firstBadSeq?: number };
}

async function createProduct(token: string): Promise<string> {
  const created = await call("/api/products", {
    token,
    json: { name: `Audit ${crypto.randomUUID().slice(0, 6)}`, priceCents: 500, currency: "EUR", stock: 2 },
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

async function sagasOf(token: string): Promise<MetricsReport["sagas"]> {
  const response = await call("/api/admin/metrics?window=15m", { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as MetricsReport).sagas;
}

describe("audit trail through the gateway", () => {
  it("records an admin's role change once, with before and after, the request id and the trace id", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const changed = await call(`/api/users/${customer.id}/role`, {
      method: "PUT",
      token: admin.accessToken,
      json: { role: "admin" },
    });
    expect(changed.status).toBe(200);
    const traceId = changed.headers.get("traceparent")?.split("-")[1];

    const entries = await auditOf(admin.accessToken, `action=user.role.set&target=user:${customer.id}`);
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
    expect((await auditOf(admin.accessToken, `actor=${admin.id}`)).map((e) => e.seq)).toContain(entries[0]?.seq);
    expect(await verify(admin.accessToken)).toMatchObject({ valid: true });
  });

  it("12 concurrent restocks by an admin give 12 entries in a chain that verifies", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const productId = await createProduct(admin.accessToken);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        call(`/api/products/${productId}/restock`, { token: admin.accessToken, json: { quantity: 1 } }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    const entries = await auditOf(admin.accessToken, `target=product:${productId}&limit=100`);
    expect(entries.filter((e) => e.action === "product.restock")).toHaveLength(12);
    expect(entries.filter((e) => e.action === "product.create")).toHaveLength(1);
    const restock = entries.find((e) => e.action === "product.restock");
    expect(restock?.after).toMatchObject({ input: { quantity: 1 }, result: { available: expect.any(Number) } });
    const seqs = entries.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(13);
    const result = await verify(admin.accessToken);
    expect(result.valid).toBe(true);
    expect(result.checked).toBeGreaterThanOrEqual(13);
  });

  it("records nothing for a refused or failed call, and only admins read the trail", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const refused = await call(`/api/users/${customer.id}/role`, {
      method: "PUT",
      token: customer.accessToken,
      json: { role: "admin" },
    });
    expect(refused.status).toBe(403);
    const missing = await call("/api/users/usr_01m875rg4c56rja44hr7x250zz/role", {
      method: "PUT",
      token: admin.accessToken,
      json: { role: "admin" },
    });
    expect(missing.status).toBe(404);
    expect(await auditOf(admin.accessToken, `target=user:${customer.id}`)).toEqual([]);
    expect(await auditOf(admin.accessToken, "target=user:usr_01m875rg4c56rja44hr7x250zz")).toEqual([]);

    expect((await call("/api/admin/audit", { token: customer.accessToken })).status).toBe(403);
    expect((await call("/api/admin/audit/verify", { token: customer.accessToken })).status).toBe(403);
    const badFilter = await call("/api/admin/audit?action=user.delete", { token: admin.accessToken });
    expect(badFilter.status).toBe(400);
    expect(await problemOf(badFilter)).toMatchObject({ status: 400 });
  });
});

describe("metrics through the gateway", () => {
  it("counts requests per route template from the local store, with breakers and dead letters", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const productId = await createProduct(admin.accessToken);
    for (let i = 0; i < 5; i++) expect((await call(`/api/products/${productId}`)).status).toBe(200);
    expect((await call("/api/products/prd_01m875rg4c56rja44hr7x250zz")).status).toBe(404);

    // Points are written after each answer (waitUntil): ask until they have all arrived.
    let report: MetricsReport | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await call("/api/admin/metrics?window=15m", { token: admin.accessToken });
      expect(response.status).toBe(200);
      report = (await response.json()) as MetricsReport;
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
    const productId = await createProduct(admin.accessToken);
    const before = await sagasOf(admin.accessToken);
    const placed = await call("/api/orders", {
      token: buyer.accessToken,
      json: { items: [{ productId, quantity: 1 }] },
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(placed.status).toBe(201);
    expect(((await placed.json()) as { saga: { state: string } }).saga.state).toBe("completed");

    let after = before;
    for (let attempt = 0; attempt < 50 && after.completed <= before.completed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await sagasOf(admin.accessToken);
    }
    expect(after.completed).toBeGreaterThan(before.completed);
    expect(after.p95DurationMs).toEqual(expect.any(Number));
  });

  it("an order's events give a real outbox lag, queue batches and notification sends", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await createProduct(admin.accessToken);
    const placed = await call("/api/orders", {
      token: buyer.accessToken,
      json: { items: [{ productId, quantity: 1 }] },
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(placed.status).toBe(201);
    // The events reach shop-events (outbox points), both queues' consumers (queue points) and the
    // sender (notification points) after the answer: ask until the email of the order was counted.
    let report: MetricsReport | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      const response = await call("/api/admin/metrics?window=15m", { token: admin.accessToken });
      report = (await response.json()) as MetricsReport;
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
    expect((await call("/api/admin/metrics", { token: customer.accessToken })).status).toBe(403);
  });
});

describe("alerts through the gateway", () => {
  it("lists alerts for an admin as {items} (firing first), and refuses a customer and no token", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const response = await call("/api/admin/alerts", { token: admin.accessToken });
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: { state: string }[] };
    expect(Array.isArray(items)).toBe(true);
    const firstResolved = items.findIndex((a) => a.state === "resolved");
    if (firstResolved >= 0) expect(items.slice(firstResolved).every((a) => a.state === "resolved")).toBe(true);
    expect((await call("/api/admin/alerts", { token: customer.accessToken })).status).toBe(403);
    expect((await call("/api/admin/alerts")).status).toBe(401);
  });

  it("documents the route in OpenAPI, admin only", async () => {
    const spec = (await (await call("/openapi.json")).json()) as {
      paths: Record<string, { get?: { security?: unknown[] } }>;
    };
    expect(spec.paths["/api/admin/alerts"]?.get?.security).toEqual([{ bearer: [] }]);
  });
});
