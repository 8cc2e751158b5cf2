/** Shared helpers of the project scripts (run on the pinned Node 22 through `npm run`). */
import { type SpawnOptions, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deployOrder, readTopology, type WorkerNode } from "./topology.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/**
 * Local state of `npm run dev` (D1, Durable Objects, queues): under DEV_STATE_DIR, default
 * `.wrangler`. `npm run smoke` points it at a folder of its own beside a running dev.
 */
const STATE_ROOT = resolve(ROOT, process.env.DEV_STATE_DIR || ".wrangler");
export const STATE_DIR = join(STATE_ROOT, "state");
/** The simulator is a separate process: it keeps its own state folder. */
export const PSP_STATE_DIR = join(STATE_ROOT, "psp-sim");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/**
 * The simulator's port: PSP_PORT, else the gateway's port + 1 (8788 beside the default 8787), so
 * several systems (a user's dev, smoke, chaos) can run side by side.
 */
export function pspPort(gatewayPort: number): number {
  return Number(process.env.PSP_PORT || gatewayPort + 1);
}

const topology = deployOrder(readTopology());

/** The stand-in for a payment provider: `npm run dev`, the tests, and staging; never production. */
export const PSP_SIM = topology.find((w) => w.name === "shop-psp-sim") as WorkerNode;

/**
 * Every Worker of the shop, in deploy order (SPEC.md section 1: bound Workers before the ones that
 * bind them), derived from the wrangler configs by `topology.ts`. The simulator is not one of them.
 */
export const WORKERS: readonly WorkerNode[] = topology.filter((w) => w !== PSP_SIM);

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

/**
 * Writes a file only if its content differs: a running `wrangler dev` watches the gateway's assets
 * folder and reloads on every write, so regenerating identical files must not touch them.
 */
export function writeIfChanged(path: string, data: Uint8Array | string): boolean {
  const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
  if (existsSync(path) && readFileSync(path).equals(bytes)) return false;
  writeFileSync(path, bytes);
  return true;
}

/** Copies a file unless the target already has the same content (see writeIfChanged). */
export function copyIfChanged(from: string, to: string): boolean {
  return writeIfChanged(to, readFileSync(from));
}
