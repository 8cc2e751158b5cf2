/**
 * Medians over the rounds, the printed table, the JSON result and the SVG chart (hand-written:
 * one panel of CPU per request, one of requests per second, edge-shop and Express side by side).
 */
import type { ObjectBackground } from "./limiter.ts";
import type { HttpResult, OrdersResult } from "./load.ts";

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export type Stack = "edge-shop" | "express";

export interface HttpSummary {
  scenario: string;
  stack: Stack;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** All measured server processes together, microseconds per request. */
  cpuUsPerRequest: number;
  /** Each process, microseconds per request. */
  cpuUsPerRequestByProcess: Record<string, number>;
  statuses: Record<string, number>;
  rounds: HttpResult[];
}

export interface OrdersSummary {
  clients: number;
  ordersPerSecond: number;
  postP50Ms: number;
  postP99Ms: number;
  cpuMsPerOrder: number;
  rounds: OrdersResult[];
}

export function summariseHttp(scenario: string, stack: Stack, rounds: HttpResult[]): HttpSummary {
  const labels = Object.keys(rounds[0]?.cpuUsPerRequest ?? {});
  const byProcess = Object.fromEntries(labels.map((l) => [l, median(rounds.map((r) => r.cpuUsPerRequest[l] ?? 0))]));
  const statuses: Record<string, number> = {};
  for (const r of rounds)
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    scenario,
    stack,
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(rounds.map((r) => Object.values(r.cpuUsPerRequest).reduce((a, b) => a + b, 0))),
    cpuUsPerRequestByProcess: byProcess,
    statuses,
    rounds,
  };
}

export function summariseOrders(rounds: OrdersResult[]): OrdersSummary {
  return {
    clients: rounds[0]?.clients ?? 0,
    ordersPerSecond: median(rounds.map((r) => r.ordersPerSecond)),
    postP50Ms: median(rounds.map((r) => r.postP50Ms)),
    postP99Ms: median(rounds.map((r) => r.postP99Ms)),
    cpuMsPerOrder: median(rounds.map((r) => r.cpuMsPerOrder)),
    rounds,
  };
}

/** A figure with `digits` decimals, or "-" when there is none (a scenario one of two runs lacked). */
const fixed = (digits: number) => (n: number | undefined) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : "-";
export const f0 = fixed(0);
export const f1 = fixed(1);
export const f2 = fixed(2);

export function table(http: readonly HttpSummary[], orders: readonly OrdersSummary[]): string {
  const lines = [
    "| scenario | stack | req/s | p50 ms | p99 ms | CPU us/req (all processes) | by process | statuses |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const s of http) {
    const by = Object.entries(s.cpuUsPerRequestByProcess)
      .map(([l, v]) => `${l} ${f0(v)}`)
      .join(", ");
    const statuses = Object.entries(s.statuses)
      .map(([c, n]) => `${c}: ${n}`)
      .join(", ");
    lines.push(
      `| ${s.scenario} | ${s.stack} | ${f0(s.rps)} | ${f1(s.p50Ms)} | ${f1(s.p99Ms)} | ${f0(s.cpuUsPerRequest)} | ${by} | ${statuses} |`,
    );
  }
  lines.push(
    "",
    "| orders until settled | settled orders/s | POST p50 ms | POST p99 ms | workerd CPU ms per settled order |",
  );
  lines.push("|---|---|---|---|---|");
  for (const o of orders) {
    lines.push(
      `| ${o.clients} client${o.clients === 1 ? "" : "s"} | ${f1(o.ordersPerSecond)} | ${f0(o.postP50Ms)} | ${f0(o.postP99Ms)} | ${f1(o.cpuMsPerOrder)} |`,
    );
  }
  return lines.join("\n");
}

/** Each building block's CPU per request, and above this Worker's own floor (what the block adds). */
export function blocksTable(blocks: readonly HttpSummary[]): string {
  const floor = blocks[0]?.cpuUsPerRequest ?? 0;
  const lines = ["| building block (one per request) | CPU us/req | above the floor |", "|---|---|---|"];
  for (const b of blocks) {
    const above = b === blocks[0] ? "-" : f0(b.cpuUsPerRequest - floor);
    lines.push(`| ${b.scenario} | ${f0(b.cpuUsPerRequest)} | ${above} |`);
  }
  return lines.join("\n");
}

export function limiterTable(rows: readonly ObjectBackground[]): string {
  return [
    "| Durable Objects, one new per request | objects | CPU us per request | idle workerd CPU us/s | waited s | background CPU ms per object |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (l) =>
        `| ${l.what} | ${l.objects} | ${f0(l.firstRequestCpuUs)} | ${f0(l.idleCpuUsPerSecond)} | ${l.waitedSeconds} | ${f2(l.backgroundMsPerObject)} |`,
    ),
  ].join("\n");
}

const xml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const COLOURS: Record<Stack, string> = { "edge-shop": "#f38020", express: "#4b5563" };

/** One horizontal bar panel: per scenario, a bar per stack. */
function panel(
  http: readonly HttpSummary[],
  scenarios: readonly string[],
  value: (s: HttpSummary) => number,
  title: string,
  top: number,
): { svg: string; height: number } {
  const labelWidth = 250;
  const barArea = 520;
  const barHeight = 14;
  const max = Math.max(1, ...http.map(value).filter(Number.isFinite));
  const parts = [`<text x="10" y="${top + 16}" font-weight="bold">${xml(title)}</text>`];
  let y = top + 30;
  for (const scenario of scenarios) {
    parts.push(`<text x="10" y="${y + 18}">${xml(scenario)}</text>`);
    for (const stack of ["edge-shop", "express"] as const) {
      const s = http.find((h) => h.scenario === scenario && h.stack === stack);
      if (s && Number.isFinite(value(s))) {
        const width = Math.max(1, (value(s) / max) * barArea);
        parts.push(
          `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="${COLOURS[stack]}"/>`,
          `<text x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 11}">${f0(value(s))}</text>`,
        );
      }
      y += barHeight + 3;
    }
    y += 10;
  }
  return { svg: parts.join("\n"), height: y - top };
}

export function chart(http: readonly HttpSummary[], orders: readonly OrdersSummary[], caption: string): string {
  const scenarios = [...new Set(http.map((h) => h.scenario))];
  const cpu = panel(http, scenarios, (s) => s.cpuUsPerRequest, "CPU per request, microseconds (lower is better)", 40);
  const rps = panel(http, scenarios, (s) => s.rps, "Requests per second (higher is better)", 40 + cpu.height + 10);
  const ordersTop = 40 + cpu.height + 10 + rps.height + 20;
  const orderLines = orders.map(
    (o, i) =>
      `<text x="10" y="${ordersTop + 18 * (i + 1)}">Orders until settled, ${o.clients} client${o.clients === 1 ? "" : "s"}: ${f1(o.ordersPerSecond)} orders/s, POST p50 ${f0(o.postP50Ms)} ms, ${f1(o.cpuMsPerOrder)} ms CPU per settled order (edge-shop only)</text>`,
  );
  const y = ordersTop + 18 * orders.length;
  const height = y + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${height}" viewBox="0 0 900 ${height}" font-family="sans-serif" font-size="12" role="img">
<title>edge-shop vs the Express stack: requests per second and CPU per request by scenario</title>
<rect width="900" height="${height}" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="bold">edge-shop (Workers in one Miniflare) vs the Express stack it replaces</text>
<rect x="620" y="10" width="12" height="12" fill="${COLOURS["edge-shop"]}"/><text x="636" y="21">edge-shop</text>
<rect x="720" y="10" width="12" height="12" fill="${COLOURS.express}"/><text x="736" y="21">Express + SQLite</text>
${cpu.svg}
${rps.svg}
${orderLines.join("\n")}
<text x="10" y="${height - 12}" fill="#555">${xml(caption)}</text>
</svg>
`;
}
