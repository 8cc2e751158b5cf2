/**
 * `npm run dev`: the whole system on this machine. Generates local secrets, applies the D1
 * migrations, seeds the admin account, then runs every Worker in one `wrangler dev` and reports
 * ready once the gateway's /health answers ok. State lives in .wrangler/state and is reused.
 *
 * Env: PORT (default 8787), PSP_PORT (the simulator's, default PORT + 1), SEED_ADMIN_EMAIL
 * (admin@example.com), SEED_ADMIN_PASSWORD (admin-dev-password).
 *
 * `--var <worker>:<NAME>=<value>` (repeatable) overrides one of a Worker's [vars] for this run only,
 * e.g. `npm run dev -- --var shop-orders:SAGA_DEADLINE_MS=20000` (`npm run chaos` uses it).
 * wrangler's own `--var` reaches only the first config of a multi-config `wrangler dev`, so such a
 * Worker (and payments when the simulator is not on 8788) runs from a copy of its config written
 * beside it (`.wrangler-dev-<port>.toml`, git-ignored, removed on exit): same folder, so the same
 * paths and `.dev.vars`; nothing persists into the normal dev configuration.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { adminSql } from "./admin.ts";
import { ensureDevVars } from "./dev-vars.ts";
import { buildGatewayAssets } from "./gateway-assets.ts";
import {
  devPorts,
  PSP_SIM,
  PSP_STATE_DIR,
  portInUse,
  pspPort,
  ROOT,
  STATE_DIR,
  WORKERS,
  WRANGLER_ENV,
  wrangler,
  wranglerArgs,
} from "./lib.ts";

const port = Number(process.env.PORT ?? 8787);
const PSP_SIM_PORT = pspPort(port);
const { values: flags } = parseArgs({ options: { var: { type: "string", multiple: true } } });

/** Per Worker name, the [vars] this run overrides. */
function varOverrides(): Map<string, Record<string, string>> {
  const overrides = new Map<string, Record<string, string>>();
  const add = (worker: string, name: string, value: string) => {
    if (!WORKERS.some((w) => w.name === worker)) throw new Error(`--var: no Worker named ${worker}`);
    overrides.set(worker, { ...overrides.get(worker), [name]: value });
  };
  for (const spec of flags.var ?? []) {
    const match = /^([a-z-]+):([A-Z0-9_]+)=(.*)$/.exec(spec);
    if (!match) throw new Error(`--var ${spec}: expected <worker>:<NAME>=<value>`);
    add(match[1] as string, match[2] as string, match[3] as string);
  }
  if (PSP_SIM_PORT !== 8788) {
    // The committed payments config points at the simulator on its default port.
    add("shop-payments", "PSP_ENDPOINTS", `a=http://127.0.0.1:${PSP_SIM_PORT}/a,b=http://127.0.0.1:${PSP_SIM_PORT}/b`);
    add("shop-payments", "PSP_ADMIN_URL", `http://127.0.0.1:${PSP_SIM_PORT}/admin`);
  }
  return overrides;
}

/** Sets `vars` in the [vars] table of a wrangler.toml text (replacing or adding each line). */
function withVars(toml: string, vars: Record<string, string>): string {
  const lines = toml.split("\n");
  let start = lines.findIndex((line) => line.trim() === "[vars]");
  if (start < 0) {
    lines.push("", "[vars]");
    start = lines.length - 1;
  }
  let end = lines.findIndex((line, i) => i > start && line.trim().startsWith("["));
  if (end < 0) end = lines.length;
  for (const [name, value] of Object.entries(vars)) {
    const at = lines.findIndex((line, i) => i > start && i < end && new RegExp(`^${name}\\s*=`).test(line));
    const line = `${name} = ${JSON.stringify(value)}`;
    if (at >= 0) lines[at] = line;
    else {
      lines.splice(start + 1, 0, line);
      end++;
    }
  }
  return lines.join("\n");
}

const derivedConfigs: string[] = [];

/** The config to run a Worker from: its own, or a copy beside it with this run's [vars]. */
function devConfig(worker: { name: string; config: string }, overrides: Map<string, Record<string, string>>): string {
  const vars = overrides.get(worker.name);
  if (!vars) return worker.config;
  const derived = join(dirname(worker.config), `.wrangler-dev-${port}.toml`);
  writeFileSync(join(ROOT, derived), withVars(readFileSync(join(ROOT, worker.config), "utf8"), vars));
  derivedConfigs.push(join(ROOT, derived));
  console.log(`${worker.name}: ${Object.keys(vars).join(", ")} set for this run (${derived})`);
  return derived;
}

function removeDerivedConfigs(): void {
  for (const file of derivedConfigs) rmSync(file, { force: true });
}
const admin = {
  email: process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  password: process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
  name: "Admin",
};

async function prepare(): Promise<void> {
  buildGatewayAssets();
  await ensureDevVars();
  for (const worker of WORKERS) {
    for (const db of worker.d1) {
      console.log(`applying ${db} migrations (local)`);
      await wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", STATE_DIR, "-c", worker.config], {
        quiet: true,
      });
    }
  }
  // Demo products (fixed ids, inserted only if missing).
  await wrangler(
    [
      "d1",
      "execute",
      "catalog-db",
      "--local",
      "--persist-to",
      STATE_DIR,
      "-c",
      "workers/catalog/wrangler.toml",
      "--file",
      "d1/catalog/seed.sql",
    ],
    { quiet: true },
  );
  console.log("seeded demo products");
  // Creates the admin (and its user.created event) only if missing; an existing
  // admin@example.com keeps its password.
  const seed = await adminSql(admin, { promote: false });
  await wrangler(
    [
      "d1",
      "execute",
      "users-db",
      "--local",
      "--persist-to",
      STATE_DIR,
      "-c",
      "workers/users/wrangler.toml",
      "--command",
      seed,
    ],
    { quiet: true },
  );
  console.log(`seeded admin ${admin.email}`);
}

async function waitFor(
  url: string,
  child: ReturnType<typeof spawn>,
  ready: (response: Response) => boolean,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`a wrangler dev exited before ${url} was ready`);
    try {
      if (ready(await fetch(url))) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} was not ready within 120 s`);
}

// A port in use would end in a wrangler crash and an esbuild goroutine dump: say so plainly first.
for (const { name, port: taken } of devPorts(port)) {
  if (await portInUse(taken)) {
    console.error(
      `address already in use: 127.0.0.1:${taken} (${name}). Is another npm run dev running? Start this one with PORT=<another port>.`,
    );
    process.exit(1);
  }
}
await prepare();
const overrides = varOverrides();
// The payment provider's stand-in: its own wrangler dev on its own port, reached over HTTP.
const [pspCmd, pspArgs] = wranglerArgs([
  "dev",
  "-c",
  PSP_SIM.config,
  "--port",
  String(PSP_SIM_PORT),
  "--ip",
  "127.0.0.1",
  "--inspector-port",
  String(port + 10_000),
  "--persist-to",
  PSP_STATE_DIR,
  "--show-interactive-dev-session=false",
]);
const psp = spawn(pspCmd, pspArgs, { cwd: ROOT, env: WRANGLER_ENV, stdio: ["ignore", "inherit", "inherit"] });
const [cmd, args] = wranglerArgs([
  "dev",
  ...WORKERS.slice()
    .reverse()
    .flatMap((w) => ["-c", devConfig(w, overrides)]), // the gateway first: only the first config gets the port
  "--port",
  String(port),
  "--ip",
  "127.0.0.1",
  "--inspector-port",
  String(port + 10_001),
  "--persist-to",
  STATE_DIR,
  "--show-interactive-dev-session=false",
]);
const child = spawn(cmd, args, { cwd: ROOT, env: WRANGLER_ENV, stdio: ["ignore", "inherit", "inherit"] });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    child.kill(signal);
    psp.kill(signal);
  });
}
process.on("exit", removeDerivedConfigs);
child.on("exit", (code) => {
  psp.kill("SIGTERM");
  process.exit(code ?? 0);
});
psp.on("exit", (code) => {
  child.kill("SIGTERM");
  process.exit(code ?? 1);
});

try {
  // Any answer means the simulator listens (its injected faults may make it answer 503).
  await waitFor(`http://127.0.0.1:${PSP_SIM_PORT}/a/v1/authorizations?reference=ready-check`, psp, () => true);
  await waitFor(`http://127.0.0.1:${port}/health`, child, (r) => r.ok);
} catch (error) {
  console.error(String(error));
  child.kill("SIGTERM");
  psp.kill("SIGTERM");
  process.exit(1);
}
console.log(`\nedge-shop is ready on http://localhost:${port}  (docs: http://localhost:${port}/docs/)`);
console.log(`payment provider simulator on http://127.0.0.1:${PSP_SIM_PORT}`);
console.log(`admin: ${admin.email} / ${process.env.SEED_ADMIN_PASSWORD ? "(SEED_ADMIN_PASSWORD)" : admin.password}\n`);
