import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, registerAndLogin } from "./helpers";

/**
 * One order's story from the logs alone (README "Traces"): every service's log lines reach a tail
 * Worker (vitest.config.ts); the gateway runs in the test's own isolate, so its lines are read off
 * the console here. The span lines of the order's trace id link up, by parentSpanId,
 * from the customer's HTTP request through the saga, its RPC calls, the provider, both queues and
 * the notification consumer to the email sent.
 */

interface SpanLine {
  message: string;
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  durationMs: number;
  outcome: string;
}

const WAIT = { timeout: 20_000, interval: 200 };

/** The gateway's JSON log lines (it runs in this isolate: its tail is not collected). */
const gatewayLines: Record<string, unknown>[] = [];
function captureConsole(): void {
  for (const method of ["log", "warn", "error"] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const [first] = args;
      if (typeof first === "string" && first.startsWith("{")) {
        try {
          gatewayLines.push(JSON.parse(first) as Record<string, unknown>);
        } catch {}
      }
      original(...args);
    });
  }
}

async function linesOf(traceId: string): Promise<Record<string, unknown>[]> {
  const res = await env.LOG_COLLECTOR.fetch(`https://collector.test/lines?traceId=${traceId}`);
  const services = (await res.json()) as Record<string, unknown>[];
  return [...gatewayLines.filter((l) => l.traceId === traceId), ...services];
}

describe("traces in the logs", { timeout: 60_000 }, () => {
  it("one order's span lines share its trace id and link from the HTTP request to the email sent", async () => {
    captureConsole();
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const created = await call("/api/products", {
      token: admin.accessToken,
      json: { name: `Traced ${crypto.randomUUID().slice(0, 6)}`, priceCents: 500, currency: "EUR", stock: 3 },
    });
    const { id: productId } = (await created.json()) as { id: string };

    const traceId = crypto.randomUUID().replaceAll("-", "");
    const clientSpan = "3333333333333333";
    const placed = await call("/api/orders", {
      token: customer.accessToken,
      json: { items: [{ productId, quantity: 1 }] },
      headers: { "idempotency-key": crypto.randomUUID(), traceparent: `00-${traceId}-${clientSpan}-01` },
    });
    expect(placed.status).toBe(201);
    const { id: orderId } = (await placed.json()) as { id: string };

    // Each kind of step, in the service that took it. Tail events arrive when each invocation
    // ends, so the test waits until the whole story is in.
    const steps = [
      "shop-gateway | POST /api/orders",
      "shop-gateway | forward POST /api/orders",
      "shop-orders | POST /api/orders",
      "shop-orders | rpc catalog.quote",
      "shop-orders | do OrderSaga.start",
      "shop-orders/saga | rpc catalog.reserve_stock",
      "shop-catalog | rpc catalog.reserve",
      "shop-orders/saga | rpc payments.authorize_payment",
      "shop-payments | rpc payments.authorize",
      "shop-payments | provider call",
      "shop-orders | send shop-events",
      "shop-events | consume shop-events",
      "shop-events | send shop-notifications",
      "shop-notifications | consume shop-notifications",
      "shop-notifications | send email",
    ];
    const lines = await vi.waitFor(async () => {
      const all = await linesOf(traceId);
      const seen = new Set(all.filter((l) => l.message === "span").map((l) => `${l.service} | ${l.name}`));
      expect([...steps].filter((step) => !seen.has(step))).toEqual([]);
      return all;
    }, WAIT);
    const spans = lines.filter((l) => l.message === "span") as unknown as SpanLine[];

    // Every line of the trace is in it; every span names its parent within the story (or the client).
    for (const line of lines) expect(line.traceId).toBe(traceId);
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) {
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(typeof s.durationMs).toBe("number");
      expect(s.parentSpanId === clientSpan || ids.has(s.parentSpanId ?? ""), `${s.service} ${s.name}`).toBe(true);
    }

    // From the email back to the customer's request, parent by parent.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const email = spans.find((s) => s.name === "send email");
    const path: string[] = [];
    for (let at = email; at; at = byId.get(at.parentSpanId ?? "")) path.unshift(`${at.service} | ${at.name}`);
    // A consumer's span is a child of the span that raised its event (the envelope's traceparent):
    // order.confirmed was raised by the saga, started by the orders request.
    expect(path).toEqual([
      "shop-gateway | POST /api/orders",
      "shop-gateway | forward POST /api/orders",
      "shop-orders | POST /api/orders",
      "shop-orders | do OrderSaga.start",
      "shop-notifications | consume shop-notifications",
      "shop-notifications | send email",
    ]);
    // The bus's hop is in the story too: it forwarded the event while consuming it.
    const forwards = spans.filter((s) => s.service === "shop-events" && s.name === "send shop-notifications");
    for (const f of forwards) expect(byId.get(f.parentSpanId ?? "")?.name).toBe("consume shop-events");
    // The log lines that are not spans carry the trace too (the saga's own lines among them).
    expect(lines.some((l) => l.service === "shop-orders/saga" && l.message === "saga event")).toBe(true);
    expect(orderId).toMatch(/^ord_/);
    vi.restoreAllMocks();
  });
});
