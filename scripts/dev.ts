/**
 * `npm run dev`: the whole system on this machine. Generates local secrets, applies the D1
 * migrations, seeds the admin account, then runs every Worker in one `wrangler dev` and reports
 * ready once the gateway's /health answers ok. State lives in .wrangler/state and is reused.
 *
 * Env: PORT (default 8787), SEED_ADMIN_EMAIL (admin@example.com), SEED_ADMIN_PASSWORD
 * (admin-dev-password).
 */
import { spawn } from "node:child_process";
import { adminSql } from "./admin.ts";
import { copyDocsAssets } from "./copy-docs-assets.ts";
import { ensureDevVars } from "./dev-vars.ts";
import {
  PSP_SIM,
  PSP_SIM_PORT,
  PSP_STATE_DIR,
  ROOT,
  STATE_DIR,
  WORKERS,
  WRANGLER_ENV,
  wrangler,
  wranglerArgs,
} from "./lib.ts";

const port = Number(process.env.PORT ?? 8787);
const admin = {
  email: process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  password: process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
  name: "Admin",
};

async function prepare(): Promise<void> {
  copyDocsAssets();
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

await prepare();
// The payment provider's stand-in: its own wrangler dev on a fixed port, reached over HTTP.
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
    .flatMap((w) => ["-c", w.config]), // the gateway first: only the first config gets the port
  "--port",
  String(port),
  "--ip",
  "127.0.0.1",
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
