import { describe, expect, it } from "vitest";
import { type BenchResult, compareTables } from "../../scripts/bench/compare";
import type { HttpSummary, OrdersSummary } from "../../scripts/bench/report";

const http = (scenario: string, stack: "edge-shop" | "express", rps: number, cpu: number): HttpSummary => ({
  scenario,
  stack,
  rps,
  p50Ms: 1,
  p99Ms: 2,
  cpuUsPerRequest: cpu,
  cpuUsPerRequestByProcess: { workerd: cpu },
  statuses: { 200: 10 },
  rounds: [],
});
const orders = (clients: number, perSecond: number, cpuMs: number): OrdersSummary => ({
  clients,
  ordersPerSecond: perSecond,
  postP50Ms: 100,
  postP99Ms: 200,
  cpuMsPerOrder: cpuMs,
  rounds: [],
});
const result = (commit: string, parts: Partial<BenchResult>): BenchResult => ({
  when: "2026-12-02T00:00:00.000Z",
  commit,
  machine: { cpu: "AMD EPYC", cores: 2, node: "v22", kernel: "6" },
  load: { before: 0.5, after: 0.7 },
  http: [],
  orders: [],
  ...parts,
});

describe("bench:compare", () => {
  it("pairs each scenario by name and stack and gives the CPU ratio after/before", () => {
    const before = result("aaa", {
      http: [http("hello", "express", 900, 200), http("hello", "edge-shop", 1000, 100)],
      orders: [orders(30, 10, 80)],
    });
    const after = result("bbb", {
      http: [http("hello", "edge-shop", 1200, 50), http("hello", "express", 950, 210)],
      orders: [orders(30, 20, 40)],
    });
    const lines = compareTables(before, after).split("\n");
    expect(lines).toContain("| hello | edge-shop | 1000 | 1200 | 100 | 50 | 0.50x |");
    expect(lines).toContain("| hello | express | 900 | 950 | 200 | 210 | 1.05x |");
    expect(lines).toContain("| 30 clients | 10.0 | 20.0 | 100 | 100 | 80.0 | 40.0 | 0.50x |");
    expect(lines[0]).toBe("before: aaa at 2026-12-02T00:00:00.000Z, load 0.5-0.7");
  });

  it("shows a scenario the earlier run did not have with dashes, not as a change", () => {
    const lines = compareTables(result("aaa", {}), result("bbb", { http: [http("new", "edge-shop", 10, 5)] }));
    expect(lines).toContain("| new | edge-shop | - | 10 | - | 5 | - |");
  });
});
