/**
 * Before `vitest`: builds each auxiliary Worker of the system tests to plain JavaScript (auxiliary
 * Workers must be built; only a project's main Worker is bundled by the plugin), and puts the docs
 * assets in place for the gateway.
 */
import { join } from "node:path";
import { buildGatewayAssets } from "./gateway-assets.ts";
import { PSP_SIM, ROOT, WORKERS, wrangler } from "./lib.ts";

export const TEST_WORKERS_DIR = join(ROOT, ".test-workers");

buildGatewayAssets();
for (const worker of [...WORKERS.filter((w) => w.name !== "shop-gateway"), PSP_SIM]) {
  const outdir = join(TEST_WORKERS_DIR, worker.name);
  await wrangler(["deploy", "--dry-run", "--outdir", outdir, "-c", worker.config], { quiet: true });
  console.log(`built ${worker.name} -> ${outdir}`);
}
