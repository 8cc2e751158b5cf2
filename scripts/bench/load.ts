/**
 * The two kinds of load: an HTTP scenario under autocannon (bounded connections on 127.0.0.1,
 * each request's user and client address rotated through the bench's users), and order placement
 * by N clients that each place an order and wait until it settles, then place the next. Both read
 * the CPU the server processes used while they ran.
 */
import autocannon from "autocannon";
import type { BenchUser } from "./data.ts";
import { cpuUs } from "./proc.ts";

export interface HttpScenario {
  url: URL;
  /** The users the requests rotate through (none: anonymous). */
  users?: readonly BenchUser[];
  /** The headers that say who a request is from (default: a bearer token and the client address). */
  as?: (user: BenchUser) => Record<string, string>;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The statuses a correct answer may have; anything else fails the bench. */
  expect: readonly number[];
}

export interface HttpResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** CPU of each measured process per request, in microseconds, by process label. */
  cpuUsPerRequest: Record<string, number>;
  statuses: Record<string, number>;
  unexpected: number;
}

type Pids = Record<string, number>;

function cpuOf(pids: Pids): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([label, pid]) => [label, cpuUs(pid)]));
}

/** A signed-in client: its token, and its address as the edge (CF-Connecting-IP) and a proxy (X-Forwarded-For) give it. */
export const bearer = (user: BenchUser): Record<string, string> => ({
  authorization: `Bearer ${user.token}`,
  "cf-connecting-ip": user.ip,
  "x-forwarded-for": user.ip,
});

function headersFor(scenario: HttpScenario, user: BenchUser | undefined): Record<string, string> {
  return { ...scenario.headers, ...(user ? (scenario.as ?? bearer)(user) : {}) };
}

/** Sends one request and checks its status: a bench of 401s measures nothing. */
export async function expectAnswer(scenario: HttpScenario, what: string): Promise<void> {
  const response = await fetch(scenario.url, { headers: headersFor(scenario, scenario.users?.[0]) });
  const body = await response.text();
  if (!scenario.expect.includes(response.status)) {
    throw new Error(
      `${what} answered ${response.status}, expected ${scenario.expect.join(" or ")}: ${body.slice(0, 300)}`,
    );
  }
}

export async function runHttp(
  scenario: HttpScenario,
  pids: Pids,
  options: { seconds: number; connections: number },
): Promise<HttpResult> {
  let next = 0;
  const users = scenario.users ?? [];
  const before = cpuOf(pids);
  const result = await autocannon({
    url: scenario.url.toString(),
    connections: options.connections,
    duration: options.seconds,
    headers: headersFor(scenario, undefined),
    requests: [
      {
        setupRequest: (request) => {
          const user = users.length > 0 ? users[next++ % users.length] : undefined;
          return { ...request, headers: { ...request.headers, ...headersFor(scenario, user) } };
        },
      },
    ],
  });
  const after = cpuOf(pids);
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  // A run with no answer at all is a failure too, not a zero.
  const unexpected =
    requests -
    scenario.expect.reduce((sum, code) => sum + (statuses[String(code)] ?? 0), 0) +
    result.errors +
    (requests === 0 ? 1 : 0);
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests,
    cpuUsPerRequest: Object.fromEntries(
      Object.keys(pids).map((label) => [label, ((after[label] ?? 0) - (before[label] ?? 0)) / Math.max(1, requests)]),
    ),
    statuses,
    unexpected,
  };
}

export interface OrdersResult {
  clients: number;
  settled: number;
  ordersPerSecond: number;
  postP50Ms: number;
  postP99Ms: number;
  /** CPU of the workerd process per settled order, in milliseconds. */
  cpuMsPerOrder: number;
  /** Settled orders by final status (confirmed: the saga completed). */
  outcomes: Record<string, number>;
  unexpected: number;
}

const ENDED = new Set(["completed", "cancelled", "compensation_failed"]);

interface PlacedOrder {
  id: string;
  status: string;
  saga: { state: string };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One order placed with a fresh Idempotency-Key, polled until its saga ended. */
async function placeOne(
  gateway: URL,
  user: BenchUser,
  productId: string,
): Promise<{ postMs: number; order: PlacedOrder; status: number }> {
  const headers = { authorization: `Bearer ${user.token}`, "cf-connecting-ip": user.ip };
  const started = performance.now();
  const response = await fetch(new URL("/api/orders", gateway), {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
    body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
  });
  const postMs = performance.now() - started;
  if (response.status !== 201 && response.status !== 202) {
    throw new Error(`POST /api/orders answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  let order = (await response.json()) as PlacedOrder;
  const deadline = Date.now() + 60_000;
  while (!ENDED.has(order.saga.state)) {
    if (Date.now() > deadline) throw new Error(`order ${order.id} did not settle within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    order = (await (await fetch(new URL(`/api/orders/${order.id}`, gateway), { headers })).json()) as PlacedOrder;
  }
  return { postMs, order, status: response.status };
}

/** Places a first order and checks it settles confirmed (the saga completed) before anything is measured. */
export async function expectOrder(gateway: URL, user: BenchUser, productId: string): Promise<void> {
  const { order } = await placeOne(gateway, user, productId);
  if (order.status !== "confirmed" || order.saga.state !== "completed") {
    throw new Error(
      `a first order settled ${order.status} (saga ${order.saga.state}), expected confirmed and completed`,
    );
  }
}

/**
 * `clients` clients each place orders one after the other for `seconds`, each order waited for
 * until it settles; client i uses users i, i + clients, ... (SPEC's quotas hold per user).
 */
export async function runOrders(
  gateway: URL,
  users: readonly BenchUser[],
  productId: string,
  workerdPid: number,
  options: { clients: number; seconds: number },
): Promise<OrdersResult> {
  const postMs: number[] = [];
  const outcomes: Record<string, number> = {};
  let unexpected = 0;
  const cpuBefore = cpuUs(workerdPid);
  const started = performance.now();
  const stopAt = Date.now() + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      for (let k = 0; Date.now() < stopAt; k++) {
        const user = users[(client + k * options.clients) % users.length] as BenchUser;
        try {
          const placed = await placeOne(gateway, user, productId);
          postMs.push(placed.postMs);
          outcomes[placed.order.status] = (outcomes[placed.order.status] ?? 0) + 1;
          if (placed.order.status !== "confirmed") unexpected++;
        } catch (error) {
          unexpected++;
          console.error(String(error));
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const settled = postMs.length;
  return {
    clients: options.clients,
    settled,
    ordersPerSecond: settled / elapsedS,
    postP50Ms: percentile(postMs, 50),
    postP99Ms: percentile(postMs, 99),
    cpuMsPerOrder: (cpuUs(workerdPid) - cpuBefore) / 1000 / Math.max(1, settled),
    outcomes,
    unexpected,
  };
}
