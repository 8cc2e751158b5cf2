/**
 * `npm run deploy`: provisions what is missing on Cloudflare and deploys every Worker in the order
 * of SPEC.md section 1 (bound Workers first). `--dry-run` builds each Worker exactly as a deploy
 * would, without an account; `npm run check` runs that path.
 *
 * Real deploys need `wrangler login` (or CLOUDFLARE_API_TOKEN + CLOUDFLARE_ACCOUNT_ID). Steps:
 * 1. D1: finds each database by name or creates it, and writes its real id into the Worker's
 *    wrangler.toml when it differs (commit that change); Queues: creates each queue (and its
 *    dead-letter twin) that does not exist yet, before any Worker that sends to or consumes it;
 * 2. applies the remote D1 migrations;
 * 3. generates the secrets it can (the ES256 signing key) if the Worker lacks them, uploaded with
 *    the deploy itself (`--secrets-file`), never written to the repo;
 * 4. deploys.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyDocsAssets } from "./copy-docs-assets.ts";
import { generateSigningKey } from "./keys.ts";
import { PSP_SIM, QUEUES, ROOT, WORKERS, wrangler } from "./lib.ts";

const dryRun = process.argv.includes("--dry-run");

/** Secrets a Worker needs that this script can make itself, by Worker name. */
const GENERATED_SECRETS: Record<string, Record<string, () => Promise<string>>> = {
  "shop-users": {
    JWT_SIGNING_KEY: generateSigningKey,
    JWT_PREVIOUS_PUBLIC_KEYS: async () => "[]",
  },
};

async function ensureDatabase(name: string, config: string): Promise<void> {
  const list = JSON.parse(await wrangler(["d1", "list", "--json"], { quiet: true })) as {
    name: string;
    uuid: string;
  }[];
  let id = list.find((db) => db.name === name)?.uuid;
  if (!id) {
    console.log(`creating D1 database ${name}`);
    await wrangler(["d1", "create", name], { quiet: true });
    const info = JSON.parse(await wrangler(["d1", "info", name, "--json"], { quiet: true })) as { uuid: string };
    id = info.uuid;
  }
  const path = join(ROOT, config);
  const text = readFileSync(path, "utf8");
  const pattern = new RegExp(`(database_name = "${name}"[\\s\\S]*?database_id = ")([^"]+)(")`);
  const current = pattern.exec(text)?.[2];
  if (current !== id) {
    writeFileSync(path, text.replace(pattern, `$1${id}$3`));
    console.log(`${config}: database_id of ${name} set to ${id} (commit this change)`);
  }
}

/** Creates the queues that do not exist yet (Workers that bind a missing queue fail to deploy). */
async function ensureQueues(): Promise<void> {
  for (const queue of QUEUES) {
    try {
      await wrangler(["queues", "info", queue], { quiet: true });
    } catch {
      console.log(`creating queue ${queue}`);
      await wrangler(["queues", "create", queue], { quiet: true });
    }
  }
}

async function missingSecrets(worker: string, config: string): Promise<Record<string, string>> {
  const wanted = GENERATED_SECRETS[worker] ?? {};
  if (Object.keys(wanted).length === 0) return {};
  let existing: string[] = [];
  try {
    existing = (
      JSON.parse(await wrangler(["secret", "list", "-c", config, "--format", "json"], { quiet: true })) as {
        name: string;
      }[]
    ).map((s) => s.name);
  } catch {
    // The Worker does not exist yet: every secret is missing.
  }
  const secrets: Record<string, string> = {};
  for (const [name, make] of Object.entries(wanted)) {
    if (!existing.includes(name)) secrets[name] = await make();
  }
  return secrets;
}

copyDocsAssets();
const scratch = mkdtempSync(join(tmpdir(), "edge-shop-deploy-"));
try {
  if (!dryRun) await ensureQueues();
  for (const worker of dryRun ? [...WORKERS, PSP_SIM] : WORKERS) {
    if (dryRun) {
      await wrangler(["deploy", "--dry-run", "--outdir", join(scratch, worker.name), "-c", worker.config], {
        quiet: true,
      });
      console.log(`dry run ok: ${worker.name}`);
      continue;
    }
    for (const db of worker.d1) {
      await ensureDatabase(db, worker.config);
      await wrangler(["d1", "migrations", "apply", db, "--remote", "-c", worker.config]);
    }
    const secrets = await missingSecrets(worker.name, worker.config);
    const args = ["deploy", "-c", worker.config];
    if (Object.keys(secrets).length > 0) {
      const file = join(scratch, `${worker.name}.secrets.json`);
      writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
      args.push("--secrets-file", file);
      console.log(`${worker.name}: generating ${Object.keys(secrets).join(", ")}`);
    }
    await wrangler(args);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
