import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BreakerClient } from "#shared/breaker-client";
import { formatTraceparent, parseTraceparent } from "#shared/trace";
import { Balancer } from "../../workers/payments/src/balancer";
import { ProviderClient } from "../../workers/payments/src/provider-client";
import { newOrderId, SIM } from "./helpers";

/** The provider call continues the caller's trace: W3C `traceparent` with a new span of ours. */
describe("provider calls carry traceparent", () => {
  it("sends the caller's trace id with a new span id to the provider, which answers", async () => {
    const parent = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", flags: "01" };
    const sent: (string | null)[] = [];
    const client = new ProviderClient({
      balancer: new Balancer("round_robin", [{ name: "t", url: `${SIM}/t`, weight: 1 }]),
      breakers: new BreakerClient(() => env.CIRCUIT_BREAKER),
      timeoutMs: 2_000,
      maxAttempts: 1,
      apiKey: env.PSP_API_KEY,
      parent,
      // The real request goes on to the simulator; only its traceparent is noted on the way.
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get("traceparent"));
        return fetch(input, init);
      },
    });

    const call = await client.authorize({ reference: newOrderId(), amountCents: 300, currency: "EUR" });

    expect(call.result.ok).toBe(true);
    expect(sent).toHaveLength(1);
    const span = parseTraceparent(sent[0]);
    expect(span?.traceId).toBe(parent.traceId);
    expect(span?.spanId).not.toBe(parent.spanId);
    expect(sent[0]).not.toBe(formatTraceparent(parent));
  });
});
