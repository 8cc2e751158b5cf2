/**
 * `npm run deploy -- --env staging|production`: from a Cloudflare account to a working system.
 *
 * 1. Preflight, before anything changes: the environment holds no development-only setting
 *    (scripts/env-config.ts), CLOUDFLARE_ACCOUNT_ID names the account, wrangler is logged in to
 *    it, the gateway has an address (a route, or the account's workers.dev subdomain in
 *    CLOUDFLARE_WORKERS_SUBDOMAIN), and every secret is either present on Cloudflare, given in the
 *    environment (PSP_API_KEY, EMAIL_API_KEY) or one this script generates (the signing key; the
 *    simulator's key in staging). A `secret list` that fails for any reason other than "this
 *    Worker does not exist yet" stops the deploy: a secret is generated only when it is known to
 *    be missing, so the signing key is never rotated by accident.
 * 2. Creates what is missing: D1 databases (their ids recorded in deploy/resources.<env>.json,
 *    never in the committed configs, so local dev and tests are untouched) and queues with their
 *    dead-letter queues, retaining messages 14 days (the dead-letter consumers retry for days).
 * 3. Applies the remote D1 migrations.
 * 4. Deploys in the order of SPEC.md section 1 (bound Workers first), with the secrets to set in
 *    the same upload (`--secrets-file`). A Worker whose sources and config did not change since
 *    its last deploy from here is skipped, so a second run changes nothing.
 * 5. Checks /health of the deployed gateway and prints its URL.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type Environment, type EnvironmentName, environment } from "../deploy/environments.ts";
import {
  devOnlyProblems,
  type GeneratedWorker,
  generateConfigs,
  readResources,
  resourcesPath,
  writeResources,
} from "./env-config.ts";
import { buildGatewayAssets } from "./gateway-assets.ts";
import { generateApiKey, generateSigningKey } from "./keys.ts";
import { PSP_SIM, ROOT, wrangler } from "./lib.ts";

/** 14 days: the longest retention Queues allows (paid plan); dead letters outlive their retries. */
export const QUEUE_RETENTION_SECONDS = 1_209_600;

/**
 * Secrets a deploy sets when not yet on Cloudflare, beyond those a Worker declares: given by the
 * operator (environment variable of the same name), or known to the deploy (CF_ACCOUNT_ID).
 */
const OPERATOR_SECRETS: Record<string, string[]> = {
  "shop-payments": ["PSP_API_KEY"],
  "shop-notifications": ["EMAIL_API_KEY"],
  // shop-ops reads the metrics with the Analytics Engine SQL API: the account deployed to, and a
  // token with "Account Analytics Read" (nothing more: it can read analytics, not change anything).
  "shop-ops": ["CF_ACCOUNT_ID", "CF_ANALYTICS_TOKEN"],
};

export class DeployRefused extends Error {}

export interface DeployOptions {
  env: EnvironmentName;
  /** Runs wrangler with these arguments and resolves with its output (rejects when it fails). */
  wrangler: (args: string[]) => Promise<string>;
  settings?: Environment;
  /** CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_WORKERS_SUBDOMAIN, PSP_API_KEY, EMAIL_API_KEY, CF_ANALYTICS_TOKEN. */
  vars?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Where deploy/resources.<env>.json lives (tests use a scratch folder). */
  resourcesDir?: string;
  outDir?: string;
  healthAttempts?: number;
}

export interface DeployReport {
  url: string;
  /** What this run changed on Cloudflare; empty on a run that found everything in place. */
  changes: string[];
}

/** Digest of everything a Worker's bundle can come from, plus its config: unchanged means skip. */
function sourceDigest(worker: GeneratedWorker): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (entry === "node_modules" || entry.startsWith(".")) continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|json|sql|html|css|toml)$/.test(entry) && !entry.endsWith(".d.ts")) {
        hash.update(relative(ROOT, path)).update(readFileSync(path));
      }
    }
  };
  for (const dir of ["workers", "queues", "durable-objects", "d1"]) walk(join(ROOT, dir));
  hash.update(readFileSync(join(ROOT, "package-lock.json")));
  hash.update(JSON.stringify(worker.json));
  return hash.digest("hex").slice(0, 32);
}

/** The names of a Worker's secrets, or "absent" when the Worker does not exist yet. */
async function listSecrets(run: DeployOptions["wrangler"], worker: GeneratedWorker): Promise<string[] | "absent"> {
  try {
    const output = await run(["secret", "list", "-c", worker.config, "--format", "json"]);
    const list = JSON.parse(output.slice(output.indexOf("["))) as { name: string }[];
    return list.map((s) => s.name);
  } catch (error) {
    // Only Cloudflare's "Worker not found" (10007) means there is nothing yet; anything else
    // (auth, network, rate limit) says nothing about the secrets, and guessing would rotate keys.
    if (/\[code: 10007\]/.test(String(error))) return "absent";
    throw new DeployRefused(
      `could not list the secrets of ${worker.name}; nothing was changed and no key generated.\n${String(error).slice(-800)}`,
    );
  }
}

function gatewayUrl(settings: Environment, gateway: GeneratedWorker, subdomain: string | undefined): string {
  const route = settings.gateway.routes[0];
  if (route) return `https://${route.pattern.replace(/\/\*?$/, "").replace(/^https?:\/\//, "")}`;
  return `https://${gateway.name}.${subdomain}.workers.dev`;
}

export async function deploy(options: DeployOptions): Promise<DeployReport> {
  const { env } = options;
  const settings = options.settings ?? environment(env).settings;
  const vars = options.vars ?? process.env;
  const log = options.log ?? console.log;
  const run = options.wrangler;
  const changes: string[] = [];
  const change = (what: string) => {
    changes.push(what);
    log(`  ${what}`);
  };
  const stateFile = resourcesPath(env, options.resourcesDir);
  const resources = readResources(stateFile);
  const subdomain = vars.CLOUDFLARE_WORKERS_SUBDOMAIN;
  const generate = () =>
    generateConfigs(env, {
      settings,
      resources,
      ...(subdomain && { subdomain }),
      ...(options.outDir && { outDir: options.outDir }),
    });

  // 1. Preflight: nothing below changes anything until every check passed.
  log(`preflight (${env})`);
  let workers = generate();
  const problems = devOnlyProblems(env, workers);
  if (problems.length > 0) throw new DeployRefused(`development-only settings in ${env}:\n- ${problems.join("\n- ")}`);
  const accountId = vars.CLOUDFLARE_ACCOUNT_ID;
  if (!accountId) {
    throw new DeployRefused("set CLOUDFLARE_ACCOUNT_ID to the account to deploy to (`wrangler whoami` lists yours)");
  }
  let who: { loggedIn?: boolean; accounts?: { id: string; name: string }[] };
  try {
    const output = await run(["whoami", "--json"]);
    who = JSON.parse(output.slice(output.indexOf("{")));
  } catch (error) {
    throw new DeployRefused(
      `not logged in: run \`wrangler login\` or set CLOUDFLARE_API_TOKEN\n${String(error).slice(-400)}`,
    );
  }
  if (!who.loggedIn) throw new DeployRefused("not logged in: run `wrangler login` or set CLOUDFLARE_API_TOKEN");
  if (who.accounts && who.accounts.length > 0 && !who.accounts.some((a) => a.id === accountId)) {
    throw new DeployRefused(`CLOUDFLARE_ACCOUNT_ID ${accountId} is not one of the accounts this login can use`);
  }
  const needsSubdomain = settings.gateway.routes.length === 0 || settings.provider === "simulator";
  if (needsSubdomain && !subdomain) {
    throw new DeployRefused(
      "the gateway (or the simulator) is served on workers.dev: set CLOUDFLARE_WORKERS_SUBDOMAIN to the account's " +
        "subdomain (dashboard: Workers & Pages > your subdomain; register one first), or add routes in deploy/environments.ts",
    );
  }

  // Secrets: what is on Cloudflare, what the operator gives, what we generate (once).
  const toSet = new Map<string, Record<string, string>>();
  const present = new Map<string, string[] | "absent">();
  for (const worker of workers) {
    const wanted = new Set([...worker.secrets, ...(OPERATOR_SECRETS[worker.base] ?? [])]);
    if (wanted.size > 0) present.set(worker.base, await listSecrets(run, worker));
  }
  const has = (base: string, name: string) => {
    const list = present.get(base);
    return Array.isArray(list) && list.includes(name);
  };
  const missing: string[] = [];
  const set = (base: string, name: string, value: string) => toSet.set(base, { ...toSet.get(base), [name]: value });
  if (!has("shop-users", "JWT_SIGNING_KEY")) set("shop-users", "JWT_SIGNING_KEY", await generateSigningKey());
  if (!has("shop-users", "JWT_PREVIOUS_PUBLIC_KEYS")) set("shop-users", "JWT_PREVIOUS_PUBLIC_KEYS", "[]");
  if (!has("shop-notifications", "EMAIL_API_KEY")) {
    if (vars.EMAIL_API_KEY) set("shop-notifications", "EMAIL_API_KEY", vars.EMAIL_API_KEY);
    else missing.push("EMAIL_API_KEY (shop-notifications): set it in the environment for this run");
  }
  if (!has("shop-ops", "CF_ACCOUNT_ID")) set("shop-ops", "CF_ACCOUNT_ID", accountId);
  if (!has("shop-ops", "CF_ANALYTICS_TOKEN")) {
    if (vars.CF_ANALYTICS_TOKEN) set("shop-ops", "CF_ANALYTICS_TOKEN", vars.CF_ANALYTICS_TOKEN);
    else {
      missing.push(
        'CF_ANALYTICS_TOKEN (shop-ops): an API token with "Account Analytics Read", in the environment for this run',
      );
    }
  }
  const simulated = settings.provider === "simulator";
  const paymentsHas = has("shop-payments", "PSP_API_KEY");
  const simHas = simulated ? has(PSP_SIM.name, "PSP_API_KEY") : true;
  if (!paymentsHas || !simHas) {
    let key = vars.PSP_API_KEY;
    if (!key && simulated && !paymentsHas && !simHas) key = await generateApiKey();
    if (!key) {
      missing.push(
        simulated
          ? "PSP_API_KEY: only one of shop-payments and the simulator has it; give the key in PSP_API_KEY"
          : "PSP_API_KEY (shop-payments): your provider's API key, in the environment for this run",
      );
    } else {
      if (!paymentsHas) set("shop-payments", "PSP_API_KEY", key);
      if (simulated && !simHas) set(PSP_SIM.name, "PSP_API_KEY", key);
    }
  }
  if (missing.length > 0) throw new DeployRefused(`secrets missing:\n- ${missing.join("\n- ")}`);
  log("preflight ok");

  // 2. Resources.
  const databases = JSON.parse(await run(["d1", "list", "--json"])) as { name: string; uuid: string }[];
  for (const db of workers.flatMap((w) => w.d1)) {
    let id = databases.find((d) => d.name === db.name)?.uuid;
    if (!id) {
      await run(["d1", "create", db.name]);
      id = (JSON.parse(await run(["d1", "info", db.name, "--json"])) as { uuid: string }).uuid;
      change(`created D1 database ${db.name} (${id})`);
    }
    if (resources.d1[db.name] !== id) {
      resources.d1[db.name] = id;
      writeResources(stateFile, resources);
    }
  }
  workers = generate();
  const queueNames = new Set<string>();
  for (const worker of workers) {
    const queues = (worker.json.queues ?? {}) as {
      producers?: { queue: string }[];
      consumers?: { queue: string; dead_letter_queue?: string }[];
    };
    for (const p of queues.producers ?? []) queueNames.add(p.queue);
    for (const c of queues.consumers ?? []) {
      queueNames.add(c.queue);
      if (c.dead_letter_queue) queueNames.add(c.dead_letter_queue);
    }
  }
  const listed = await run(["queues", "list"]);
  const exists = (name: string) => new RegExp(`(^|[\\s│|])${name}([\\s│|]|$)`, "m").test(listed);
  for (const queue of [...queueNames].sort()) {
    if (exists(queue)) continue;
    await run(["queues", "create", queue, "--message-retention-period-secs", String(QUEUE_RETENTION_SECONDS)]);
    change(`created queue ${queue} (14-day retention)`);
  }

  // 3. Migrations (wrangler applies only the ones not applied yet).
  for (const worker of workers) {
    for (const db of worker.d1) {
      const output = await run(["d1", "migrations", "apply", db.name, "--remote", "-c", worker.config]);
      if (!/No migrations to apply/i.test(output)) change(`applied migrations to ${db.name}`);
    }
  }

  // 4. Deploy, bound Workers first (the gateway with its static assets, /docs and /admin, built now).
  buildGatewayAssets();
  const scratch = mkdtempSync(join(tmpdir(), "edge-shop-deploy-"));
  try {
    for (const worker of workers) {
      const digest = sourceDigest(worker);
      const secrets = toSet.get(worker.base) ?? {};
      const secretNames = Object.keys(secrets);
      if (resources.deployed[worker.name] === digest && secretNames.length === 0) continue;
      const args = ["deploy", "-c", worker.config];
      if (secretNames.length > 0) {
        const file = join(scratch, `${worker.name}.secrets.json`);
        writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
        args.push("--secrets-file", file);
      }
      await run(args);
      resources.deployed[worker.name] = digest;
      writeResources(stateFile, resources);
      change(`deployed ${worker.name}${secretNames.length > 0 ? ` with secrets ${secretNames.join(", ")}` : ""}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // 5. The deployed gateway answers.
  const gateway = workers.find((w) => w.base === "shop-gateway") as GeneratedWorker;
  const url = gatewayUrl(settings, gateway, subdomain);
  const fetcher = options.fetch ?? fetch;
  const attempts = options.healthAttempts ?? 20;
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetcher(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) {
        log(`\n${env} is up: ${url}  (${changes.length === 0 ? "nothing changed" : `${changes.length} change(s)`})`);
        return { url, changes };
      }
      last = `${response.status} ${(await response.text()).slice(0, 300)}`;
    } catch (error) {
      last = String(error);
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 3_000));
  }
  throw new Error(`deployed, but ${url}/health does not answer ok: ${last}`);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { env: { type: "string" } } });
  try {
    const { name } = environment(values.env ?? "");
    await deploy({ env: name, wrangler: (args) => wrangler(args, { quiet: true }) });
  } catch (error) {
    console.error(`\ndeploy stopped: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
