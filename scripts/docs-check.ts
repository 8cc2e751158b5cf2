/**
 * `npm run test:docs`: the /docs page in a real browser. Starts the gateway (with shop-users) in
 * `wrangler dev` on a spare port, loads /docs/ in headless Debian Chromium, and checks that Swagger
 * UI ran (scripts from this origin only, under the page's CSP) and rendered every path of
 * /openapi.json. Needs `chromium` (`apt-get install chromium`); CI installs it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDevVars } from "./dev-vars.ts";
import { buildGatewayAssets } from "./gateway-assets.ts";
import { ROOT, WRANGLER_ENV, wranglerArgs } from "./lib.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.error(`No browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM).`);
  process.exit(1);
}

const port = 19787 + Math.floor(Math.random() * 1000);
const scratch = mkdtempSync(join(tmpdir(), "edge-shop-docs-"));
buildGatewayAssets();
await ensureDevVars();
const [cmd, args] = wranglerArgs([
  "dev",
  ...["-c", "wrangler.toml", "-c", "workers/users/wrangler.toml"],
  ...["--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(port + 1)],
  ...["--persist-to", join(scratch, "state"), "--show-interactive-dev-session=false"],
]);
const dev = spawn(cmd, args, { cwd: ROOT, env: WRANGLER_ENV, stdio: "ignore", detached: true });
const base = `http://127.0.0.1:${port}`;

let failed = false;
try {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ok = await fetch(`${base}/docs/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error("the gateway did not start");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  const browser = spawnSync(
    CHROMIUM,
    [
      ...["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
      ...["--disable-background-networking", "--disable-component-update", "--disable-sync"],
      `--user-data-dir=${join(scratch, "profile")}`,
      "--virtual-time-budget=10000",
      "--dump-dom",
      `${base}/docs/`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  const rendered = new Set([...browser.stdout.matchAll(/data-path="([^"]+)"/g)].map((m) => m[1]));
  const missing = Object.keys(spec.paths).filter((path) => !rendered.has(path));
  if (rendered.size === 0 || missing.length > 0) {
    throw new Error(`Swagger UI rendered ${rendered.size} paths; missing: ${missing.join(", ") || "all"}`);
  }
  console.log(`docs: Chromium rendered all ${rendered.size} API paths from local assets`);
} catch (error) {
  console.error(`docs: ${String(error)}`);
  failed = true;
} finally {
  try {
    if (dev.pid) process.kill(-dev.pid, "SIGTERM");
  } catch {
    // already gone
  }
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
