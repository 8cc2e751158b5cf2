import { describe, expect, it } from "vitest";
import { type PaymentsVars, paymentsConfig } from "../../workers/payments/src/config";

/** The values of workers/payments/wrangler.toml. */
const VARS: PaymentsVars = {
  PSP_ENDPOINTS: "a=http://127.0.0.1:8788/a,b=http://127.0.0.1:8788/b",
  PSP_ADMIN_URL: "http://127.0.0.1:8788/admin",
  PSP_STRATEGY: "round_robin",
  PSP_WEIGHTS: "",
  PSP_TIMEOUT_MS: "2000",
  PSP_MAX_ATTEMPTS: "3",
  FAULTS_ENABLED: "false",
  VOID_RECHECK_DELAY_MS: "60000",
};

describe("paymentsConfig", () => {
  it("reads the wrangler.toml values", () => {
    expect(paymentsConfig(VARS)).toEqual({
      endpoints: [
        { name: "a", url: "http://127.0.0.1:8788/a", weight: 1 },
        { name: "b", url: "http://127.0.0.1:8788/b", weight: 1 },
      ],
      strategy: "round_robin",
      timeoutMs: 2000,
      maxAttempts: 3,
      faultsEnabled: false,
      adminUrl: "http://127.0.0.1:8788/admin",
      voidRecheckDelayMs: 60_000,
    });
  });

  it("reads weights, defaulting unlisted endpoints to 1", () => {
    const config = paymentsConfig({ ...VARS, PSP_STRATEGY: "weighted", PSP_WEIGHTS: "a=3" });
    expect(config.endpoints.map((e) => [e.name, e.weight])).toEqual([
      ["a", 3],
      ["b", 1],
    ]);
  });

  it('enables faults only for exactly "true"', () => {
    expect(paymentsConfig({ ...VARS, FAULTS_ENABLED: "true" }).faultsEnabled).toBe(true);
    expect(paymentsConfig({ ...VARS, FAULTS_ENABLED: "TRUE" }).faultsEnabled).toBe(false);
    expect(paymentsConfig({ ...VARS, FAULTS_ENABLED: "1" }).faultsEnabled).toBe(false);
  });

  it("strips trailing slashes from URLs", () => {
    const config = paymentsConfig({
      ...VARS,
      PSP_ENDPOINTS: "x=https://psp.example/x/",
      PSP_ADMIN_URL: "http://h/admin/",
    });
    expect(config.endpoints[0]?.url).toBe("https://psp.example/x");
    expect(config.adminUrl).toBe("http://h/admin");
  });

  it.each([
    { name: "an unknown strategy", vars: { PSP_STRATEGY: "fastest" } },
    { name: "an endpoint without a URL", vars: { PSP_ENDPOINTS: "a" } },
    { name: "a non-HTTP URL", vars: { PSP_ENDPOINTS: "a=ftp://x" } },
    { name: "an endpoint twice", vars: { PSP_ENDPOINTS: "a=http://x/a,a=http://x/b" } },
    { name: "an uppercase endpoint name", vars: { PSP_ENDPOINTS: "A=http://x/a" } },
    { name: "no endpoint", vars: { PSP_ENDPOINTS: "" } },
    { name: "a weight for an unknown endpoint", vars: { PSP_WEIGHTS: "c=2" } },
    { name: "a malformed weight", vars: { PSP_WEIGHTS: "a=heavy" } },
    { name: "a zero timeout", vars: { PSP_TIMEOUT_MS: "0" } },
    { name: "zero attempts", vars: { PSP_MAX_ATTEMPTS: "0" } },
    { name: "a fractional attempt count", vars: { PSP_MAX_ATTEMPTS: "2.5" } },
  ])("fails loudly on $name", ({ vars }) => {
    expect(() => paymentsConfig({ ...VARS, ...vars })).toThrow();
  });
});
