import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ENVIRONMENTS, type EnvironmentName } from "../../deploy/environments.ts";
import { DeployRefused, deploy, QUEUE_RETENTION_SECONDS } from "../../scripts/deploy.ts";
import { run } from "../../scripts/lib.ts";
import { rollback } from "../../scripts/rollback.ts";
import { readTopology } from "../../scripts/topology.ts";

/**
 * scripts/deploy.ts against a recording stand-in for the wrangler CLI (fake-wrangler.mjs): the
 * commands it runs, in which order, what it creates, and what it refuses.
 */

const FAKE = join(import.meta.dirname, "fake-wrangler.mjs");
const ACCOUNT = "0123456789abcdef0123456789abcdef";
let dir: string;

interface FakeState {
  loggedIn?: boolean;
  accounts?: { id: string; name: string }[];
  failSecretList?: boolean;
  d1?: Record<string, string>;
  queues?: Record<string, { retentionSeconds: number }>;
  workers?: Record<string, { versions: string[]; secrets: Record<string, string> }>;
  migrations?: Record<string, string[]>;
}

const statePath = () => join(dir, "account.json");
const logPath = () => join(dir, "commands.log");
const state = (): FakeState => JSON.parse(readFileSync(statePath(), "utf8"));
const commands = (): string[][] =>
  existsSync(logPath())
    ? readFileSync(logPath(), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];
const mutating = (list: string[][]) =>
  list.filter(
    ([a, b]) => (a === "d1" && b !== "list" && b !== "info") || (a === "queues" && b !== "list") || a === "deploy",
  );

const fakeWrangler = (args: string[]) =>
  run(
    process.execPath,
    [FAKE, ...args],
    {
      env: { ...process.env, FAKE_WRANGLER_STATE: statePath(), FAKE_WRANGLER_LOG: logPath() },
    },
    { quiet: true },
  );

const healthy = async (input: string | URL | Request) =>
  String(input).endsWith("/health") ? new Response('{"status":"ok"}') : new Response("no", { status: 404 });

function run_(env: EnvironmentName, overrides: { settings?: object; vars?: Record<string, string> } = {}) {
  return deploy({
    env,
    wrangler: fakeWrangler,
    ...(overrides.settings && { settings: { ...ENVIRONMENTS[env], ...overrides.settings } }),
    vars: {
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
      CLOUDFLARE_WORKERS_SUBDOMAIN: "acme",
      EMAIL_API_KEY: "re_test_email_key",
      CF_ANALYTICS_TOKEN: "analytics_read_token_0123456789",
      ...overrides.vars,
    },
    fetch: healthy as typeof fetch,
    log: () => {},
    resourcesDir: join(dir, "resources"),
    outDir: join(dir, "configs", env),
    healthAttempts: 1,
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "edge-shop-deploy-test-"));
  writeFileSync(statePath(), JSON.stringify({ loggedIn: true, accounts: [{ id: ACCOUNT, name: "Acme" }] }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run deploy -- --env staging", () => {
  it("first run: checks, creates databases and 14-day queues, migrates, deploys in order with secrets, checks /health", async () => {
    const report = await run_("staging");
    expect(report.url).toBe("https://shop-gateway-staging.acme.workers.dev");
    const account = state();
    expect(Object.keys(account.d1 ?? {}).sort()).toEqual(
      ["catalog", "events", "notifications", "orders", "payments", "users"].map((s) => `${s}-db-staging`),
    );
    const queues = ["events", "notifications", "audit"].flatMap((q) => [`shop-${q}-staging`, `shop-${q}-staging-dlq`]);
    expect(account.queues).toEqual(
      Object.fromEntries(
        queues.map((q) => [q, expect.objectContaining({ retentionSeconds: QUEUE_RETENTION_SECONDS })]),
      ),
    );
    for (const [db, applied] of Object.entries(account.migrations ?? {})) expect(applied.length, db).toBeGreaterThan(0);

    const log = commands();
    // Preflight reads only: login, then every secret list, before the first change.
    expect(log[0]).toEqual(["whoami", "--json"]);
    const firstChange = log.findIndex((c) => mutating([c]).length > 0);
    expect(log.slice(0, firstChange).every(([a, b]) => a === "whoami" || b === "list")).toBe(true);
    expect(log.slice(0, firstChange).filter(([a]) => a === "secret")).toHaveLength(5);
    // Deploy order: the simulator, then every Worker after each Worker it binds (SPEC.md section
    // 1), as the wrangler configs declare the bindings; every Worker once; the gateway last.
    const deployed = log.filter(([a]) => a === "deploy").map((c) => c[2]?.split("/").at(-2) as string);
    const topology = readTopology();
    expect(deployed[0]).toBe("shop-psp-sim");
    expect(deployed.at(-1)).toBe("shop-gateway");
    expect([...deployed].sort()).toEqual(topology.map((w) => w.name).sort());
    for (const worker of topology) {
      for (const bound of worker.binds) {
        expect(deployed.indexOf(bound), `${bound} before ${worker.name}`).toBeLessThan(deployed.indexOf(worker.name));
      }
    }
    const workers = account.workers ?? {};
    expect(Object.keys(workers["shop-users-staging"]?.secrets ?? {}).sort()).toEqual([
      "JWT_PREVIOUS_PUBLIC_KEYS",
      "JWT_SIGNING_KEY",
    ]);
    // One generated provider key, the same on both sides.
    const paymentsKey = workers["shop-payments-staging"]?.secrets.PSP_API_KEY;
    expect(paymentsKey).toBeTruthy();
    expect(workers["shop-psp-sim-staging"]?.secrets.PSP_API_KEY).toBe(paymentsKey);
    // shop-ops reads its environment's own Analytics Engine dataset, which every Worker writes.
    expect(Object.keys(workers["shop-ops-staging"]?.secrets ?? {}).sort()).toEqual([
      "CF_ACCOUNT_ID",
      "CF_ANALYTICS_TOKEN",
    ]);
    const ops = JSON.parse(readFileSync(join(dir, "configs", "staging", "shop-ops", "wrangler.json"), "utf8"));
    expect(ops.vars).toMatchObject({ METRICS_SOURCE: "analytics-engine", METRICS_DATASET: "edge_shop_staging" });
    for (const name of ["shop-gateway", "shop-orders"]) {
      const config = JSON.parse(readFileSync(join(dir, "configs", "staging", name, "wrangler.json"), "utf8"));
      expect(config.analytics_engine_datasets, name).toEqual([{ binding: "METRICS", dataset: "edge_shop_staging" }]);
      expect(config.vars.METRICS_LOCAL, name).toBe("false");
    }
    // Real ids are recorded beside the environments, and the generated configs use them.
    const resources = JSON.parse(readFileSync(join(dir, "resources", "resources.staging.json"), "utf8"));
    expect(resources.d1).toEqual(account.d1);
    const orders = JSON.parse(readFileSync(join(dir, "configs", "staging", "shop-orders", "wrangler.json"), "utf8"));
    expect(orders.d1_databases[0].database_id).toBe(account.d1?.["orders-db-staging"]);
  });

  it("second run changes nothing: no creation, no deploy, no new secret", async () => {
    await run_("staging");
    const before = state();
    const firstRunCommands = commands().length;
    const report = await run_("staging");
    expect(report.changes).toEqual([]);
    expect(
      mutating(commands().slice(firstRunCommands)).filter(([a, b]) => !(a === "d1" && b === "migrations")),
    ).toEqual([]);
    expect(state()).toEqual(before);
  });

  it("a failed secret list stops the deploy before any change and generates no key", async () => {
    writeFileSync(statePath(), JSON.stringify({ ...state(), failSecretList: true }));
    await expect(run_("staging")).rejects.toThrow(/could not list the secrets.*no key generated/s);
    expect(mutating(commands())).toEqual([]);
    expect(commands().some((c) => c.includes("--secrets-file"))).toBe(false);
  });

  it("keeps the signing key of an existing deployment (never rotated by a redeploy)", async () => {
    await run_("staging");
    const key = state().workers?.["shop-users-staging"]?.secrets.JWT_SIGNING_KEY;
    rmSync(join(dir, "resources"), { recursive: true });
    await run_("staging");
    expect(state().workers?.["shop-users-staging"]?.secrets.JWT_SIGNING_KEY).toBe(key);
    expect(commands().filter((c) => c[0] === "deploy" && c.includes("--secrets-file"))).toHaveLength(5);
  });
});

describe("refusals (before any command that changes something)", () => {
  it.each([
    ["a loopback provider URL", "a=https://127.0.0.1:8788/a", /loopback/],
    ["localhost", "a=https://localhost/a", /loopback/],
    ["a plain-http provider URL", "a=http://psp.example.com/a", /not https/],
    ["the simulator", "simulator", /never deployed to production|not shop-psp-sim/],
  ])("production with %s", async (_name, provider, message) => {
    await expect(run_("production", { settings: { provider }, vars: { PSP_API_KEY: "k".repeat(32) } })).rejects.toThrow(
      message,
    );
    expect(commands()).toEqual([]);
  });

  it("production without the provider's key", async () => {
    await expect(run_("production")).rejects.toThrow(/PSP_API_KEY/);
    expect(mutating(commands())).toEqual([]);
  });

  it("without a token to read the metrics", async () => {
    await expect(run_("staging", { vars: { CF_ANALYTICS_TOKEN: "" } })).rejects.toThrow(/CF_ANALYTICS_TOKEN/);
    expect(mutating(commands())).toEqual([]);
  });

  it("staging with a localhost CORS origin", async () => {
    await expect(run_("staging", { settings: { corsOrigins: ["http://localhost:3000"] } })).rejects.toThrow(/CORS/);
    expect(commands()).toEqual([]);
  });

  it("no CLOUDFLARE_ACCOUNT_ID, or one this login cannot use", async () => {
    await expect(run_("staging", { vars: { CLOUDFLARE_ACCOUNT_ID: "" } })).rejects.toThrow(/CLOUDFLARE_ACCOUNT_ID/);
    await expect(run_("staging", { vars: { CLOUDFLARE_ACCOUNT_ID: "f".repeat(32) } })).rejects.toThrow(
      /not one of the accounts/,
    );
    expect(mutating(commands())).toEqual([]);
  });

  it("not logged in", async () => {
    writeFileSync(statePath(), JSON.stringify({ loggedIn: false }));
    await expect(run_("staging")).rejects.toThrow(DeployRefused);
    expect(mutating(commands())).toEqual([]);
  });

  it("no workers.dev subdomain and no route", async () => {
    await expect(run_("staging", { vars: { CLOUDFLARE_WORKERS_SUBDOMAIN: "" } })).rejects.toThrow(/subdomain/);
    expect(mutating(commands())).toEqual([]);
  });
});

describe("production with a real provider", () => {
  it("deploys no simulator and sends payments to the provider's HTTPS endpoints", async () => {
    await run_("production", { vars: { PSP_API_KEY: "live_provider_key_0123456789" } });
    const workers = Object.keys(state().workers ?? {});
    expect(workers).not.toContain("shop-psp-sim");
    expect(workers).toContain("shop-payments");
    const payments = JSON.parse(
      readFileSync(join(dir, "configs", "production", "shop-payments", "wrangler.json"), "utf8"),
    );
    expect(payments.vars.PSP_ENDPOINTS).toBe(ENVIRONMENTS.production.provider);
    expect(payments.vars.FAULTS_ENABLED).toBe("false");
  });
});

describe("npm run rollback", () => {
  it("returns every Worker of the environment to its previous version, gateway first", async () => {
    await run_("staging");
    // A second deployment of every Worker (as after a code change), then the rollback.
    rmSync(join(dir, "resources"), { recursive: true });
    await run_("staging");
    const versions = (name: string) => state().workers?.[name]?.versions ?? [];
    const before = versions("shop-orders-staging");
    expect(before).toHaveLength(2);
    const names = await rollback("staging", fakeWrangler, () => {});
    expect(names[0]).toBe("shop-gateway-staging");
    expect(names).toHaveLength(11);
    expect(versions("shop-orders-staging")).toEqual(before.slice(0, 1));
  });
});
