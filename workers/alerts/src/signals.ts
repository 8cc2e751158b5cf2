import type { MetricsSummary } from "#shared/contracts/ops";
import { createLogger, errorFields } from "#shared/log";
import type { Result } from "#shared/result";
import { minutesOf, type Signals } from "./rules";

const log = createLogger({ service: "shop-alerts" });

/** The services whose health() makes the aggregate (as the gateway's /health reports it). */
const HEALTH = {
  users: (env: Env) => env.USERS,
  catalog: (env: Env) => env.CATALOG,
  resilience: (env: Env) => env.RESILIENCE,
  payments: (env: Env) => env.PAYMENTS,
  orders: (env: Env) => env.ORDERS,
  events: (env: Env) => env.EVENTS,
  notifications: (env: Env) => env.NOTIFICATIONS,
  ops: (env: Env) => env.OPS,
} as const satisfies Record<string, (env: Env) => { health(): Promise<unknown> }>;

const HEALTH_TIMEOUT_MS = 5_000;

/** The producing services, whose outboxes `outbox_stale` watches (each answers `outboxBacklog()`). */
const OUTBOXES = {
  "shop-users": (env: Env) => env.USERS,
  "shop-catalog": (env: Env) => env.CATALOG,
  "shop-payments": (env: Env) => env.PAYMENTS,
  "shop-orders": (env: Env) => env.ORDERS,
} as const;

/** A source that throws gives `null`: its rules keep their state instead of resolving. */
async function ask<T>(source: string, call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    log.warn("alert source unavailable", { source, ...errorFields(error) });
    return null;
  }
}

async function up(call: () => Promise<unknown>): Promise<"ok" | "down"> {
  let timer: number | null = null;
  const timeout = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), HEALTH_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call().then(() => "ok" as const), timeout]);
  } catch {
    return "down";
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** Asks every source at once. */
export async function gatherSignals(env: Env): Promise<Signals> {
  const [compensationFailed, deadLetters, breakers, summary, outboxes, health] = await Promise.all([
    ask("orders", () => env.ORDERS.compensationFailedSagas()),
    ask("events", () => env.EVENTS.waitingDeadLetters()),
    ask("resilience", () => env.RESILIENCE.breakers()),
    ask("ops", async (): Promise<Result<MetricsSummary>> => await env.OPS.metrics("15m")),
    Promise.all(
      Object.entries(OUTBOXES).map(async ([name, binding]) => [
        name,
        await ask(`${name} outbox`, async () => {
          const { pending, oldestCreatedAt } = await binding(env).outboxBacklog();
          return { pending, oldestCreatedAt };
        }),
      ]),
    ),
    Promise.all(Object.entries(HEALTH).map(async ([name, binding]) => [name, await up(() => binding(env).health())])),
  ]);
  return {
    now: Date.now(),
    compensationFailed,
    deadLetters,
    breakers,
    requests: summary?.ok ? minutesOf(summary.value) : null,
    outboxes: Object.fromEntries(outboxes),
    health: Object.fromEntries(health) as Record<string, "ok" | "down">,
  };
}
