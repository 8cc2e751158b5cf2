import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MetricsSummary } from "#shared/contracts/ops";
import { METRICS_STORE_NAME } from "#shared/metrics";
import { freshBreaker, openIt, sleep } from "./helpers";

/** shop-ops' store, through the binding the breakers write with (typed by shape, as they do). */
function store() {
  return env.METRICS_STORE.getByName(METRICS_STORE_NAME) as unknown as {
    summary(window: "15m"): Promise<MetricsSummary>;
  };
}

describe("breaker transitions in the local metrics store (METRICS_LOCAL)", () => {
  it("a breaker that opens leaves a closed -> open transition in shop-ops' store", async () => {
    const { name, stub } = freshBreaker("local-metrics");
    await openIt(stub);

    // The point is written after the transition (waitUntil): ask until it has arrived.
    let transitions: MetricsSummary["breakerTransitions"] = [];
    for (let attempt = 0; attempt < 50 && transitions.length === 0; attempt++) {
      transitions = (await store().summary("15m")).breakerTransitions.filter((t) => t.name === name);
      if (transitions.length === 0) await sleep(50);
    }
    expect(transitions).toEqual([{ at: expect.any(String), name, from: "closed", to: "open" }]);
  });
});
