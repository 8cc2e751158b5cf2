/** Shared helpers of the project scripts (run on the pinned Node 22 through `npm run`). */
import { type SpawnOptions, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const STATE_DIR = join(ROOT, ".wrangler", "state");
/** The simulator is a separate process: it keeps its own state folder. */
export const PSP_STATE_DIR = join(ROOT, ".wrangler", "psp-sim");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** The local stand-in for a payment provider: run by `npm run dev` and the tests, never deployed. */
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
  { name: "shop-events", config: "workers/events/wrangler.toml", d1: ["events-db"] },
  { name: "shop-resilience", config: "workers/resilience/wrangler.toml", d1: [] },
  { name: "shop-catalog", config: "workers/catalog/wrangler.toml", d1: ["catalog-db"] },
  { name: "shop-payments", config: "workers/payments/wrangler.toml", d1: ["payments-db"] },
  { name: "shop-orders", config: "workers/orders/wrangler.toml", d1: ["orders-db"] },
  { name: "shop-users", config: "workers/users/wrangler.toml", d1: ["users-db"] },
  { name: "shop-notifications", config: "workers/notifications/wrangler.toml", d1: ["notifications-db"] },
  { name: "shop-gateway", config: "wrangler.toml", d1: [] },
];

/** Every queue, with its dead-letter twin (queues/README.md): created before the Workers deploy. */
export const QUEUES = ["shop-events", "shop-events-dlq", "shop-notifications", "shop-notifications-dlq"] as const;

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

/** Whether something already listens on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

/** The ports one `npm run dev` on `port` takes: the gateway, the simulator and two inspectors. */
export function devPorts(port: number): { name: string; port: number }[] {
  return [
    { name: "PORT (the gateway)", port },
    { name: "PSP_PORT (the provider simulator)", port: pspPort(port) },
    { name: "the simulator's inspector (PORT + 10000)", port: port + 10_000 },
    { name: "the services' inspector (PORT + 10001)", port: port + 10_001 },
  ];
}

/** A PORT whose whole block of dev ports is free (for smoke and chaos beside a running dev). */
export async function freeDevPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const busy = await Promise.all(devPorts(port).map((p) => portInUse(p.port)));
    if (!busy.some(Boolean)) return port;
  }
  throw new Error("no free block of ports for npm run dev");
}
