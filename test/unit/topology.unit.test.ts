import { describe, expect, it } from "vitest";
import { disagreements } from "../../scripts/check-topology";
import { deployOrder, type WorkerNode } from "../../scripts/topology";

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

  it("finds a test project whose main Worker binds a Worker it does not run beside it", () => {
    const source = `cloudflareTest({ wrangler: { configPath: join(ROOT, "workers/orders/wrangler.toml") },
      miniflare: { workers: [eventsAuxWorker()] } })`;
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { orders: source } })).toEqual([
      "test/orders/vitest.config.ts: shop-orders binds shop-catalog, which is not among its auxiliary Workers",
    ]);
    const fixed = source.replace("eventsAuxWorker()", 'eventsAuxWorker(), auxWorker("shop-catalog", "catalog")');
    expect(disagreements([EVENTS, CATALOG, ORDERS], { tsconfigs: {}, testConfigs: { orders: fixed } })).toEqual([]);
  });
});
