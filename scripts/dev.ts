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
 * Worker (and payments when the simulator is not on 8788) runs from a copy of its config under
 * `.wrangler/dev-configs/<port>/` (paths rewritten, its `.dev.vars` copied, removed on exit), never
 * among the committed configs. The gateway's assets are rewritten only when they change: every
 * write there made a running dev on the same checkout reload.
 *
 * DEV_STATE_DIR (default .wrangler) holds the local state (D1, Durable Objects, queues): `npm run
 * smoke` gives its system a folder of its own, so it neither sees nor changes yours.
 *
 * When wrangler fails, the first real error line is what you read (a busy port as "address
 * already in use: host:port"), not a goroutine dump; the whole output is in .wrangler/dev-<port>.log.
 */
import { spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { adminSql } from "./admin.ts";
import { derivedConfigPath, relocateConfig, withVars } from "./dev-configs.ts";
import { createDumpFilter, firstRealError } from "./dev-output.ts";
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

const derivedFolders: string[] = [];

/**
 * The config to run a Worker from: its own, or this run's copy with its [vars] set, under
 * `.wrangler/dev-configs/<port>/` (not among the committed configs), with the Worker's
 * `.dev.vars` copied next to it (wrangler reads secrets from the config's folder).
 */
function devConfig(worker: { name: string; config: string }, overrides: Map<string, Record<string, string>>): string {
  const vars = overrides.get(worker.name);
  if (!vars) return worker.config;
  const derived = derivedConfigPath(worker.config, port);
  const folder = dirname(join(ROOT, derived));
  mkdirSync(folder, { recursive: true });
  const source = readFileSync(join(ROOT, worker.config), "utf8");
  writeFileSync(join(ROOT, derived), relocateConfig(withVars(source, vars), dirname(worker.config), dirname(derived)));
  const secrets = join(ROOT, dirname(worker.config), ".dev.vars");
  if (existsSync(secrets)) copyFileSync(secrets, join(folder, ".dev.vars"));
  derivedFolders.push(join(ROOT, ".wrangler", "dev-configs", String(port)));
  console.log(`${worker.name}: ${Object.keys(vars).join(", ")} set for this run (${derived})`);
  return derived;
}

function removeDerivedConfigs(): void {
  for (const folder of derivedFolders) rmSync(folder, { recursive: true, force: true });
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
const LOG = join(ROOT, ".wrangler", `dev-${port}.log`);
mkdirSync(dirname(LOG), { recursive: true });
writeFileSync(LOG, "");
let stopping = false;

/** Says in one line why `what` failed (its first real error), where the whole output is, and exits. */
function fail(what: string, output: string, code: number | null = 1): never {
  if (!stopping) {
    stopping = true;
    const reason = firstRealError(output) ?? `exited with code ${code}`;
    const hint = reason.startsWith("address already in use")
      ? " Is another npm run dev running? Start this one with PORT=<another port>."
      : "";
    console.error(`\nnpm run dev: ${what} failed: ${reason}.${hint}\n(whole output: ${LOG})`);
  }
  process.exit(code || 1);
}

try {
  await prepare();
} catch (error) {
  appendFileSync(LOG, String(error));
  fail("preparing the local databases", String(error));
}
const overrides = varOverrides();

/** Runs a wrangler dev with its output shown live (a crash's goroutine dump held back) and kept. */
function startWrangler(argv: string[]): { child: ReturnType<typeof spawn>; output: () => string } {
  const [command, commandArgs] = wranglerArgs(argv);
  const started = spawn(command, commandArgs, { cwd: ROOT, env: WRANGLER_ENV, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  for (const [stream, target] of [
    [started.stdout, process.stdout],
    [started.stderr, process.stderr],
  ] as const) {
    const filter = createDumpFilter();
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      output = (output + chunk).slice(-200_000);
      appendFileSync(LOG, chunk);
      target.write(filter(chunk));
    });
  }
  return { child: started, output: () => output };
}

// The payment provider's stand-in: its own wrangler dev on its own port, reached over HTTP.
const pspRun = startWrangler([
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
const psp = pspRun.child;
const shopRun = startWrangler([
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
const child = shopRun.child;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
    psp.kill(signal);
  });
}
process.on("exit", removeDerivedConfigs);
child.on("close", (code) => {
  psp.kill("SIGTERM");
  if (stopping || code === 0) process.exit(0);
  fail("wrangler dev (the shop's Workers)", shopRun.output(), code);
});
psp.on("close", (code) => {
  child.kill("SIGTERM");
  if (stopping) process.exit(code ?? 1);
  fail("wrangler dev (the payment provider simulator)", pspRun.output(), code);
});

try {
  // Any answer means the simulator listens (its injected faults may make it answer 503).
  await waitFor(`http://127.0.0.1:${PSP_SIM_PORT}/a/v1/authorizations?reference=ready-check`, psp, () => true);
  await waitFor(`http://127.0.0.1:${port}/health`, child, (r) => r.ok);
} catch (error) {
  if (child.exitCode !== null || psp.exitCode !== null) {
    // A wrangler exited: its close handler says why once its output is read to the end.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    fail("wrangler dev", `${pspRun.output()}\n${shopRun.output()}`);
  }
  // Still running but never ready: wrangler dev waits for a fix after a build error; say which.
  const output = `${pspRun.output()}\n${shopRun.output()}`;
  child.kill("SIGTERM");
  psp.kill("SIGTERM");
  if (firstRealError(output)) fail("wrangler dev", output);
  console.error(String(error));
  stopping = true;
  process.exit(1);
}
console.log(`\nedge-shop is ready on http://localhost:${port}  (docs: http://localhost:${port}/docs/)`);
console.log(`payment provider simulator on http://127.0.0.1:${PSP_SIM_PORT}`);
console.log(`admin: ${admin.email} / ${process.env.SEED_ADMIN_PASSWORD ? "(SEED_ADMIN_PASSWORD)" : admin.password}\n`);
