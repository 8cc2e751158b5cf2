/**
 * Two results of `npm run bench` side by side (`npm run bench:compare -- BEFORE.json AFTER.json`):
 * the medians of every HTTP scenario and order placement with the CPU ratio after/before, and the
 * background measurement per Durable Object. Comparable only when both ran in one sitting on one
 * machine at a low load, so the machine and load of each are printed above the tables.
 */
import { readFileSync } from "node:fs";
import type { ObjectBackground } from "./limiter.ts";
import { f0, f1, f2, type HttpSummary, type OrdersSummary } from "./report.ts";

export interface BenchResult {
  when: string;
  commit: string;
  machine: { cpu: string; cores: number; node: string; kernel: string };
  load: { before: number; after: number };
  http: HttpSummary[];
  orders: OrdersSummary[];
  limiter?: ObjectBackground[];
}

const ratio = (before: number | undefined, after: number | undefined) =>
  before && after !== undefined && Number.isFinite(before) && Number.isFinite(after)
    ? `${(after / before).toFixed(2)}x`
    : "-";

export function compareTables(before: BenchResult, after: BenchResult): string {
  const lines = [
    `before: ${before.commit} at ${before.when}, load ${before.load.before}-${before.load.after}`,
    `after:  ${after.commit} at ${after.when}, load ${after.load.before}-${after.load.after}`,
    `machine: ${after.machine.cores} x ${after.machine.cpu}, Node ${after.machine.node}, Linux ${after.machine.kernel}`,
    "",
    "| scenario | stack | req/s before | req/s after | CPU us/req before | CPU us/req after | CPU after/before |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const a of after.http) {
    const b = before.http.find((h) => h.scenario === a.scenario && h.stack === a.stack);
    lines.push(
      `| ${a.scenario} | ${a.stack} | ${f0(b?.rps)} | ${f0(a.rps)} | ${f0(b?.cpuUsPerRequest)} | ${f0(a.cpuUsPerRequest)} | ${ratio(b?.cpuUsPerRequest, a.cpuUsPerRequest)} |`,
    );
  }
  lines.push(
    "",
    "| orders until settled | orders/s before | orders/s after | POST p50 ms before | POST p50 ms after | CPU ms/order before | CPU ms/order after | CPU after/before |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const a of after.orders) {
    const b = before.orders.find((o) => o.clients === a.clients);
    lines.push(
      `| ${a.clients} client${a.clients === 1 ? "" : "s"} | ${f1(b?.ordersPerSecond)} | ${f1(a.ordersPerSecond)} | ${f0(b?.postP50Ms)} | ${f0(a.postP50Ms)} | ${f1(b?.cpuMsPerOrder)} | ${f1(a.cpuMsPerOrder)} | ${ratio(b?.cpuMsPerOrder, a.cpuMsPerOrder)} |`,
    );
  }
  if (after.limiter?.length) {
    lines.push(
      "",
      "| Durable Objects, one new per request | first request CPU us before | after | background ms/object before | after |",
      "|---|---|---|---|---|",
    );
    for (const a of after.limiter) {
      const b = before.limiter?.find((l) => l.what === a.what);
      lines.push(
        `| ${a.what} | ${f0(b?.firstRequestCpuUs)} | ${f0(a.firstRequestCpuUs)} | ${f2(b?.backgroundMsPerObject)} | ${f2(a.backgroundMsPerObject)} |`,
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const [beforePath, afterPath] = process.argv.slice(2);
  if (!beforePath || !afterPath) {
    console.error("usage: npm run bench:compare -- BEFORE.json AFTER.json");
    process.exit(2);
  }
  const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as BenchResult;
  console.log(compareTables(read(beforePath), read(afterPath)));
}
