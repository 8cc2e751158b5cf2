import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import PaymentsService from "../../workers/payments/src/index";
import * as payments from "../../workers/payments/src/payments";
import {
  depsFor,
  expectFailure,
  expectOk,
  ledger,
  newOrderId,
  paymentRows,
  SIM,
  setFaults,
  simAuthorization,
  simFetch,
  trail,
} from "./helpers";

/**
 * Faults, failover, retries and breakers. Each test uses provider endpoints (and so breakers
 * psp:<endpoint>) that no other test uses, through the payment use cases wired as the Worker
 * wires them; a fresh round-robin balancer starts at the first endpoint listed.
 */

const order = (amountCents = 2500) => ({ orderId: newOrderId(), amountCents, currency: "EUR" });

describe("failover", () => {
  it("errorRate 1 on psp:c: the call fails over to d and succeeds; the ledger shows both attempts", async () => {
    await setFaults({ "psp:c": { errorRate: 1 } });
    const input = order();
    const payment = expectOk(await payments.authorize(depsFor(["c", "d"]), input));
    expect(payment).toMatchObject({ status: "authorized", endpoint: "d" });
    expect(trail(await ledger(input.orderId))).toEqual(["authorize:c:error", "authorize:d:ok"]);
    const [failed] = await ledger(input.orderId);
    expect(failed?.error).toContain("503");
  });

  it("captures, voids and refunds fail over too", async () => {
    const deps = depsFor(["c", "d"]);
    const captured = expectOk(await payments.authorize(deps, order()));
    const voided = expectOk(await payments.authorize(deps, order()));
    await setFaults({ "psp:c": { errorRate: 1 } });
    expect(expectOk(await payments.capture(deps, captured.orderId)).status).toBe("captured");
    expect(expectOk(await payments.voidPayment(deps, voided.orderId))?.status).toBe("voided");
    expect(expectOk(await payments.refund(deps, captured.orderId)).status).toBe("refunded");
    const steps = trail([...(await ledger(captured.orderId)), ...(await ledger(voided.orderId))]);
    expect(steps.filter((s) => s.endsWith(":c:error")).length).toBeGreaterThan(0);
    expect((await simAuthorization(captured.orderId))?.status).toBe("refunded");
  });

  it("errorRate 1 on psp: unavailable after PSP_MAX_ATTEMPTS attempts, with nothing stored", async () => {
    await setFaults({ psp: { errorRate: 1 } });
    const input = order();
    const detail = expectFailure(await payments.authorize(depsFor(["e", "f"]), input), "unavailable");
    expect(detail).toContain("3 attempt");
    expect(trail(await ledger(input.orderId))).toEqual(["authorize:e:error", "authorize:f:error", "authorize:e:error"]);
    expect(await paymentRows(input.orderId)).toBe(0);
    expect(await simAuthorization(input.orderId)).toBeUndefined();
  });

  it("makes exactly as many attempts as configured (5 here)", async () => {
    await setFaults({ psp: { errorRate: 1 } });
    const input = order();
    expectFailure(await payments.authorize(depsFor(["e", "f"], { maxAttempts: 5 }), input), "unavailable");
    expect(await ledger(input.orderId)).toHaveLength(5);
  });
});

describe("timeouts", () => {
  it("a timeout on g fails over to h, which returns the authorisation g made: no double authorisation", async () => {
    await setFaults({ "psp:g": { timeoutRate: 1 } });
    const input = order();
    const startedAt = Date.now();
    const payment = expectOk(await payments.authorize(depsFor(["g", "h"]), input));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(inject("pspTimeoutMs"));
    const attempts = await ledger(input.orderId);
    expect(trail(attempts)).toEqual(["authorize:g:timeout", "authorize:h:ok"]);
    expect(attempts[0]?.durationMs).toBeGreaterThanOrEqual(inject("pspTimeoutMs") - 5);
    const sim = await simAuthorization(input.orderId);
    // The simulator authorised through g before it hung; h answered with that same authorisation.
    expect(sim?.history.map((h) => h.action)).toEqual(["authorize"]);
    expect(payment).toMatchObject({ providerRef: sim?.id, endpoint: "g", status: "authorized" });
  });

  it("timeouts everywhere: timeout after PSP_MAX_ATTEMPTS; a later void finds and releases the lost authorisation", async () => {
    await setFaults({ psp: { timeoutRate: 1 } });
    const deps = depsFor(["i", "j"]);
    const input = order();
    expectFailure(await payments.authorize(deps, input), "timeout");
    expect(trail(await ledger(input.orderId))).toEqual([
      "authorize:i:timeout",
      "authorize:j:timeout",
      "authorize:i:timeout",
    ]);
    expect(await paymentRows(input.orderId)).toBe(0);
    // The provider did authorise (the answer was lost): a hold we must not leave on the card.
    expect((await simAuthorization(input.orderId))?.status).toBe("authorized");

    await setFaults({ psp: {} });
    const voided = expectOk(await payments.voidPayment(deps, input.orderId));
    expect(voided).toMatchObject({ status: "voided", providerRef: (await simAuthorization(input.orderId))?.id });
    expect((await simAuthorization(input.orderId))?.status).toBe("voided");
    expect(trail(await ledger(input.orderId)).slice(3)).toEqual([
      expect.stringMatching(/^lookup:[ij]:ok$/),
      expect.stringMatching(/^void:[ij]:ok$/),
    ]);
  });

  it("a void after failures that had no effect finds nothing and returns null", async () => {
    await setFaults({ psp: { errorRate: 1 } });
    const deps = depsFor(["i", "j"]);
    const input = order();
    expectFailure(await payments.authorize(deps, input), "unavailable");
    // While the provider is down the void cannot know: a transient failure, retried by the saga.
    expectFailure(await payments.voidPayment(deps, input.orderId), "unavailable");
    await setFaults({ psp: {} });
    expect(expectOk(await payments.voidPayment(deps, input.orderId))).toBeNull();
  });

  it("latency below the timeout is only slow", async () => {
    await setFaults({ "psp:k": { latencyMs: 150 } });
    const input = order();
    expectOk(await payments.authorize(depsFor(["k"]), input));
    const [attempt] = await ledger(input.orderId);
    expect(attempt?.outcome).toBe("ok");
    expect(attempt?.durationMs).toBeGreaterThanOrEqual(145);
  });
});

describe("faults apply to the next request after the PUT", () => {
  it("switches an endpoint off and on again between two consecutive calls", async () => {
    const deps = depsFor(["l"], { maxAttempts: 1 });
    expectOk(await payments.authorize(deps, order()));
    await setFaults({ "psp:l": { errorRate: 1 } });
    expectFailure(await payments.authorize(deps, order()), "unavailable");
    await setFaults({ "psp:l": { errorRate: 0 } });
    expectOk(await payments.authorize(deps, order()));
  });
});

describe("declines", () => {
  it("are never retried, never failed over and never count against the breaker", async () => {
    const threshold = inject("breakerFailureThreshold");
    // Only m declines; a fresh round robin starts at m, and every call ends where it started.
    await setFaults({ "psp:m": { declineRate: 1 } });
    const deps = depsFor(["m", "n"]);
    for (let i = 0; i < threshold * 2 + 2; i++) {
      const input = order();
      const result = await payments.authorize(deps, input);
      const attempts = trail(await ledger(input.orderId));
      if (i % 2 === 0) {
        expectFailure(result, "payment_declined");
        expect(attempts).toEqual(["authorize:m:declined"]);
      } else {
        expectOk(result);
        expect(attempts).toEqual(["authorize:n:ok"]);
      }
    }
    const breaker = await env.CIRCUIT_BREAKER.getByName("psp:m").snapshot();
    expect(breaker).toMatchObject({ state: "closed", failures: 0 });
  });
});

describe("circuit breakers", () => {
  it("psp:o opens after repeated failures; later calls skip o without calling it", async () => {
    const threshold = inject("breakerFailureThreshold");
    await setFaults({ "psp:o": { errorRate: 1 } });
    const deps = depsFor(["o", "p"]);
    for (let i = 0; i < threshold; i++) {
      const input = order();
      expectOk(await payments.authorize(deps, input));
      expect(trail(await ledger(input.orderId))).toEqual(["authorize:o:error", "authorize:p:ok"]);
    }
    expect(await env.CIRCUIT_BREAKER.getByName("psp:o").snapshot()).toMatchObject({ state: "open" });

    // o still answers 503 to anyone who calls it; the next calls never do (no "error" on o).
    for (let i = 0; i < 3; i++) {
      const input = order();
      expectOk(await payments.authorize(deps, input));
      expect(trail(await ledger(input.orderId))).toEqual(["authorize:o:skipped(open)", "authorize:p:ok"]);
    }
    const direct = await simFetch("/o/v1/authorizations", {
      method: "POST",
      json: { reference: "probe-o", amountCents: 1, currency: "EUR" },
    });
    expect(direct.status).toBe(503);
  });

  it("when every endpoint's breaker is open, the call fails at once without calling anyone", async () => {
    const threshold = inject("breakerFailureThreshold");
    await setFaults({ psp: { errorRate: 1 } });
    const deps = depsFor(["q", "r"], { maxAttempts: 2 });
    for (let i = 0; i < threshold; i++) {
      expectFailure(await payments.authorize(deps, order()), "unavailable");
    }
    await setFaults({ psp: {} });
    const input = order();
    const detail = expectFailure(await payments.authorize(deps, input), "unavailable");
    expect(detail).toContain("circuits open");
    expect(trail(await ledger(input.orderId))).toEqual(["authorize:q:skipped(open)", "authorize:r:skipped(open)"]);
    expect(await simAuthorization(input.orderId)).toBeUndefined();
  });
});

describe("setFaults where faults are enabled", () => {
  it("PUTs the faults to the simulator's admin API and returns what it holds", async () => {
    const service = new PaymentsService(createExecutionContext(), { ...env, FAULTS_ENABLED: "true" });
    const faults = expectOk(await service.setFaults({ "psp:s": { latencyMs: 20 } }));
    expect(faults["psp:s"]).toEqual({ latencyMs: 20 });
    const held = await (await fetch(`${SIM}/admin/faults`)).json();
    expect(held).toMatchObject({ "psp:s": { latencyMs: 20 } });
  });

  it("refuses malformed faults as validation_failed", async () => {
    const service = new PaymentsService(createExecutionContext(), { ...env, FAULTS_ENABLED: "true" });
    expectFailure(await service.setFaults({ "psp:s": { errorRate: 2 } }), "validation_failed");
    expectFailure(await service.setFaults({ nope: {} } as never), "validation_failed");
    // The simulator checks endpoint names against its own list.
    expectFailure(await service.setFaults({ "psp:unknown": { errorRate: 1 } }), "validation_failed");
  });
});
