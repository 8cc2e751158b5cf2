/** Shared helpers of the project scripts (run on the pinned Node 22 through `npm run`). */
import { type SpawnOptions, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const STATE_DIR = join(ROOT, ".wrangler", "state");
/** The simulator is a separate process: it keeps its own state folder. */
export const PSP_STATE_DIR = join(ROOT, ".wrangler", "psp-sim");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** The stand-in for a payment provider: `npm run dev`, the tests, and staging; never production. */
export const PSP_SIM = { name: "shop-psp-sim", config: "workers/psp-sim/wrangler.toml", d1: [] as string[] };
/**
 * The simulator's port: PSP_PORT, else the gateway's port + 1 (8788 beside the default 8787), so
 * several systems (a user's dev, smoke, chaos) can run side by side.
 */
export function pspPort(gatewayPort: number): number {
  return Number(process.env.PSP_PORT || gatewayPort + 1);
}

/** Every Worker, in deploy order (SPEC.md section 1): bound Workers before the ones that bind them. */
export const WORKERS: readonly { name: string; config: string; d1: readonly string[] }[] = [
  { name: "shop-ops", config: "workers/ops/wrangler.toml", d1: [] },
  { name: "shop-events", config: "workers/events/wrangler.toml", d1: ["events-db"] },
  { name: "shop-resilience", config: "workers/resilience/wrangler.toml", d1: [] },
  { name: "shop-catalog", config: "workers/catalog/wrangler.toml", d1: ["catalog-db"] },
  { name: "shop-payments", config: "workers/payments/wrangler.toml", d1: ["payments-db"] },
  { name: "shop-orders", config: "workers/orders/wrangler.toml", d1: ["orders-db"] },
  { name: "shop-users", config: "workers/users/wrangler.toml", d1: ["users-db"] },
  { name: "shop-notifications", config: "workers/notifications/wrangler.toml", d1: ["notifications-db"] },
  { name: "shop-alerts", config: "workers/alerts/wrangler.toml", d1: [] },
  { name: "shop-gateway", config: "wrangler.toml", d1: [] },
];

/** Offline-friendly wrangler: no Request.cf fetch, no telemetry. */
export const WRANGLER_ENV = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};

export function wranglerArgs(args: string[]): [string, string[]] {
  return [process.execPath, [WRANGLER, ...args]];
}

/** Runs wrangler to completion; rejects with its output when it fails. */
export function wrangler(args: string[], options: { quiet?: boolean; input?: string } = {}): Promise<string> {
  const [cmd, argv] = wranglerArgs(args);
  return run(cmd, argv, { cwd: ROOT, env: WRANGLER_ENV }, options);
}

export function run(
  cmd: string,
  args: string[],
  spawnOptions: SpawnOptions,
  options: { quiet?: boolean; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...spawnOptions, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      if (!options.quiet) process.stdout.write(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
      if (!options.quiet) process.stderr.write(chunk);
    });
    child.stdin?.end(options.input ?? "");
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${[cmd, ...args].join(" ")} exited with ${code}\n${output.slice(-4000)}`));
    });
  });
}

/** Escapes a value for a single-quoted SQL string literal. */
export function sqlString(value: string | null): string {
  return value === null ? "NULL" : `'${value.replaceAll("'", "''")}'`;
}
