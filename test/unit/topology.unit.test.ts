import { describe, expect, it } from "vitest";
import { disagreements } from "../../scripts/check-topology";
import { boundClosure, deployOrder, type WorkerNode } from "../../scripts/topology";

const node = (name: string, dir: string, binds: string[] = []): WorkerNode => ({
  name,
  dir,
  config: dir === "gateway" ? "wrangler.toml" : `workers/${dir}/wrangler.toml`,
  d1: [],
  binds,
});
const EVENTS = node("shop-events", "events");
const CATALOG = node("shop-catalog", "catalog", ["shop-events"]);
const ORDERS = node("shop-orders", "orders", ["shop-catalog", "shop-events"]);
const GATEWAY = node("shop-gateway", "gateway", ["shop-orders"]);

describe("the topology read from the wrangler configs", () => {
  it("deploys bound Workers before the ones that bind them", () => {
    expect(deployOrder([GATEWAY, ORDERS, CATALOG, EVENTS]).map((w) => w.name)).toEqual([
      "shop-events",
      "shop-catalog",
      "shop-orders",
      "shop-gateway",
    ]);
  });

  it("refuses a cycle, and a binding to a Worker without a config", () => {
    const a = node("shop-a", "a", ["shop-b"]);
    const b = node("shop-b", "b", ["shop-a"]);
    expect(() => deployOrder([a, b])).toThrow(/cycle/);
    expect(() => deployOrder([node("shop-x", "x", ["shop-nowhere"])])).toThrow(/no wrangler config/);
  });

  it("finds a tsconfig that does not reference a bound Worker", () => {
    const problems = disagreements([EVENTS, CATALOG, ORDERS], {
      tsconfigs: {
        orders: '{"references": [{"path": "../events"}]}',
        catalog: '{"references": [{"path": "../events"}]}',
      },
      testConfigs: {},
    });
    expect(problems).toEqual([
      "workers/orders/tsconfig.json: shop-orders binds shop-catalog; add a reference to ../catalog",
    ]);
  });

  it("finds a test project whose main Worker binds others but lists its auxiliary Workers by hand", () => {
    const source = `cloudflareTest({ wrangler: { configPath: join(ROOT, "workers/orders/wrangler.toml") },
      miniflare: { workers: [auxWorker("shop-events", "events"), auxWorker("shop-catalog", "catalog")] } })`;
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { orders: source } })).toEqual([
      'test/orders/vitest.config.ts: shop-orders binds shop-catalog, shop-events; derive its auxiliary Workers with auxWorkersOf("workers/orders/wrangler.toml", ...)',
    ]);
    // Deriving from another Worker's config is the same mistake.
    const wrong = source.replace(/workers: \[.*\]/, 'workers: auxWorkersOf("workers/catalog/wrangler.toml")');
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { orders: wrong } })).toHaveLength(1);
    const fixed = source.replace(/workers: \[.*\]/, 'workers: auxWorkersOf("workers/orders/wrangler.toml")');
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { orders: fixed } })).toEqual([]);
    // A main Worker that binds nothing needs nothing beside it.
    const events = `cloudflareTest({ wrangler: { configPath: join(ROOT, "workers/events/wrangler.toml") } })`;
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { events } })).toEqual([]);
  });

  it("derives a Worker's auxiliary Workers: what it binds, transitively, bound ones first", () => {
    const OPS = node("shop-ops", "ops");
    const RESILIENCE = node("shop-resilience", "resilience", ["shop-ops"]);
    const PAYMENTS = node("shop-payments", "payments", ["shop-events", "shop-resilience"]);
    const all = [EVENTS, CATALOG, ORDERS, OPS, RESILIENCE, PAYMENTS];
    const names = (main: string) => boundClosure(all, main).map((n) => n.name);
    expect(names("shop-payments")).toEqual(["shop-events", "shop-ops", "shop-resilience"]);
    expect(names("shop-events")).toEqual([]);
    expect(() => names("shop-nowhere")).toThrow(/no wrangler config/);
  });
});
