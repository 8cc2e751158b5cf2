import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as payments from "../../workers/payments/src/payments";
import { depsFor, expectFailure, expectOk, newOrderId, simAuthorization, simFetch } from "./helpers";

/** The provider API key: payments sends it on every call, the simulator refuses any other. */

const order = () => ({ orderId: newOrderId(), amountCents: 700, currency: "EUR" });

describe("the simulator's API key", () => {
  it.each([
    { name: "no Authorization header", authorization: "" },
    { name: "a wrong key", authorization: "Bearer not-the-provider-key-at-all" },
    { name: "the right key under another scheme", authorization: `Basic ${env.PSP_API_KEY}` },
  ])("refuses $name with a 401 problem and WWW-Authenticate, and does nothing", async ({ authorization }) => {
    const reference = newOrderId();
    const headers = authorization ? { authorization } : { authorization: "" };
    const response = await simFetch("/w/v1/authorizations", {
      method: "POST",
      headers,
      json: { reference, amountCents: 100, currency: "EUR" },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(((await response.json()) as { code: string }).code).toBe("unauthorized");
    expect(await simAuthorization(reference)).toBeUndefined();
  });

  it("serves a request with the key payments is configured with", async () => {
    const response = await simFetch(`/w/v1/authorizations?reference=${newOrderId()}`);
    expect(response.status).toBe(200);
  });
});

describe("payments with a wrong provider key", () => {
  it("fails as a refusal (unprocessable, not an outage to retry) and the provider holds nothing", async () => {
    const input = order();
    const deps = depsFor(["w", "x"], { apiKey: "a-wrong-provider-key-0000000000" });
    expectFailure(await payments.authorize(deps, input), "unprocessable");
    expect(await simAuthorization(input.orderId)).toBeUndefined();
  });

  it("with the configured key the same call succeeds", async () => {
    const payment = expectOk(await payments.authorize(depsFor(["w", "x"]), order()));
    expect(payment.status).toBe("authorized");
  });
});
