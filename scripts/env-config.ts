/**
 * Wrangler configs for staging and production, generated from the committed (development) configs
 * and deploy/environments.ts. Wrangler's own `[env.X]` sections inherit no bindings and rename only
 * the Worker, so a generated config is complete instead: every binding of the committed config is
 * kept, and every name the environment owns (Worker, service and `script_name` targets, D1
 * databases, queues and dead-letter queues) gets the environment's suffix. Written as JSON under
 * .wrangler/deploy/<env>/<worker>/wrangler.json (git-ignored), paths rebased to the repository.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { experimental_readRawConfig } from "wrangler";
import * as z from "zod";
import { type Environment, type EnvironmentName, environment } from "../deploy/environments.ts";
import { PSP_SIM, ROOT, WORKERS } from "./lib.ts";

/** What a deploy created and did, per environment: committed, no secrets in it. */
export const ResourcesSchema = z.object({
  d1: z.record(z.string(), z.uuid()).default({}),
  /** Worker name -> digest of the bundle and config last deployed (a second run skips it). */
  deployed: z.record(z.string(), z.string()).default({}),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export function resourcesPath(env: EnvironmentName, dir = join(ROOT, "deploy")): string {
  return join(dir, `resources.${env}.json`);
}

export function readResources(path: string): Resources {
  return ResourcesSchema.parse(existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {});
}

export function writeResources(path: string, resources: Resources): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(resources, null, 2)}\n`);
}

/** A database id for a dry run before the database exists (never deployed: deploy creates it first). */
const UNCREATED_ID = "00000000-0000-0000-0000-000000000000";

export interface GeneratedWorker {
  /** The committed name (shop-orders) and the environment's (shop-orders-staging). */
  base: string;
  name: string;
  /** Absolute path of the generated config. */
  config: string;
  json: Record<string, unknown>;
  /** D1 databases (environment names) with their migrations folders. */
  d1: { name: string; binding: string }[];
  /** Secrets the Worker declares as required. */
  secrets: string[];
}

type Raw = Record<string, unknown> & {
  name: string;
  main: string;
  vars?: Record<string, string>;
  services?: { binding: string; service: string }[];
  durable_objects?: { bindings: { name: string; class_name: string; script_name?: string }[] };
  queues?: {
    producers?: { binding: string; queue: string }[];
    consumers?: ({ queue: string; dead_letter_queue?: string } & Record<string, unknown>)[];
  };
  d1_databases?: ({ binding: string; database_name: string; migrations_dir?: string } & Record<string, unknown>)[];
  assets?: { directory: string } & Record<string, unknown>;
  /** Module specifier -> a file (a path relative to the config) or a package. */
  alias?: Record<string, string>;
  secrets?: { required?: string[] };
  observability?: { traces?: Record<string, unknown> } & Record<string, unknown>;
  analytics_engine_datasets?: { binding: string; dataset: string }[];
};

/**
 * An environment's Analytics Engine dataset: the committed one with the suffix (edge_shop_staging),
 * so staging's points never mix with production's in one account. Dataset names take no hyphen.
 */
export function datasetOf(dataset: string, suffix: string): string {
  return `${dataset}${suffix.replaceAll("-", "_")}`;
}

export function readRaw(config: string): Raw {
  return experimental_readRawConfig({ config: join(ROOT, config) }).rawConfig as Raw;
}

/** The vars an environment sets, by committed Worker name; each must exist in that Worker's config. */
function envVars(settings: Environment, suffix: string, subdomain: string): Record<string, Record<string, string>> {
  const auth = { JWT_ISSUER: settings.issuer, JWT_AUDIENCE: settings.audience };
  const endpoints =
    settings.provider === "simulator"
      ? ["a", "b"].map((e) => `${e}=https://${PSP_SIM.name}${suffix}.${subdomain}.workers.dev/${e}`).join(",")
      : settings.provider;
  return {
    "shop-gateway": {
      ...auth,
      CORS_ORIGINS: settings.corsOrigins.join(","),
      RATE_LIMIT_ANON: settings.rateLimits.anon,
      RATE_LIMIT_USER: settings.rateLimits.user,
      RATE_LIMIT_LOGIN: settings.rateLimits.login,
      FAULTS_ENABLED: "false",
    },
    "shop-users": auth,
    "shop-orders": { SAGA_DEADLINE_MS: String(settings.sagaDeadlineMs) },
    "shop-payments": { PSP_ENDPOINTS: endpoints, PSP_ADMIN_URL: "", FAULTS_ENABLED: "false" },
    "shop-notifications": { NOTIFICATION_SENDER: settings.sender },
    "shop-psp-sim": { PSP_ENDPOINTS: "a,b", FAULTS_ENABLED: "false" },
    // On Cloudflare the metrics are Analytics Engine's (the local store is a development stand-in,
    // written only where METRICS_LOCAL is "true"); shop-ops reads them with the SQL API, from the
    // environment's own dataset (its METRICS_DATASET renamed like the datasets, below).
    "shop-ops": { METRICS_SOURCE: "analytics-engine" },
  };
}

/** The Workers an environment deploys, in deploy order (the simulator first, where there is one). */
export function workersOf(settings: Environment) {
  return settings.provider === "simulator" ? [PSP_SIM, ...WORKERS] : [...WORKERS];
}

export interface GenerateOptions {
  resources?: Resources;
  /** The account's workers.dev subdomain (for the simulator's URL in staging). */
  subdomain?: string;
  /** Where the configs go (default .wrangler/deploy/<env>). */
  outDir?: string;
  /** Settings instead of deploy/environments.ts (tests). */
  settings?: Environment;
}

export function generateConfigs(env: EnvironmentName, options: GenerateOptions = {}): GeneratedWorker[] {
  const settings = options.settings ?? environment(env).settings;
  const { suffix } = settings;
  const resources = options.resources ?? { d1: {}, deployed: {} };
  const vars = envVars(settings, suffix, options.subdomain ?? "your-subdomain");
  const outRoot = options.outDir ?? join(ROOT, ".wrangler", "deploy", env);
  const rename = (name: string) => `${name}${suffix}`;
  // A dead-letter queue stays the `-dlq` twin of its queue: shop-events-staging-dlq.
  const renameQueue = (name: string) => (name.endsWith("-dlq") ? `${name.slice(0, -4)}${suffix}-dlq` : rename(name));

  return workersOf(settings).map((worker) => {
    const raw = readRaw(worker.config);
    const baseDir = dirname(join(ROOT, worker.config));
    const outDir = join(outRoot, worker.name);
    const rebase = (path: string) => relative(outDir, resolve(baseDir, path));

    const overrides = vars[worker.name] ?? {};
    for (const key of Object.keys(overrides)) {
      if (!raw.vars || !(key in raw.vars)) throw new Error(`${worker.config} has no var ${key} to set in ${env}`);
    }
    const { dev: _dev, ...rest } = raw as Raw & { dev?: unknown };
    const json: Record<string, unknown> = {
      ...rest,
      name: rename(raw.name),
      main: rebase(raw.main),
      minify: true,
      upload_source_maps: true,
      observability: {
        ...raw.observability,
        enabled: true,
        head_sampling_rate: settings.sampling,
        traces: { ...raw.observability?.traces, enabled: true, head_sampling_rate: settings.sampling },
      },
      vars: {
        ...raw.vars,
        ...overrides,
        ...(raw.vars?.METRICS_DATASET && { METRICS_DATASET: datasetOf(raw.vars.METRICS_DATASET, suffix) }),
      },
    };
    if (raw.analytics_engine_datasets) {
      json.analytics_engine_datasets = raw.analytics_engine_datasets.map((d) => ({
        ...d,
        dataset: datasetOf(d.dataset, suffix),
      }));
    }
    if (raw.services) json.services = raw.services.map((s) => ({ ...s, service: rename(s.service) }));
    if (raw.durable_objects) {
      json.durable_objects = {
        bindings: raw.durable_objects.bindings.map((b) =>
          b.script_name ? { ...b, script_name: rename(b.script_name) } : b,
        ),
      };
    }
    if (raw.queues) {
      json.queues = {
        ...(raw.queues.producers && {
          producers: raw.queues.producers.map((p) => ({ ...p, queue: renameQueue(p.queue) })),
        }),
        ...(raw.queues.consumers && {
          consumers: raw.queues.consumers.map((c) => ({
            ...c,
            queue: renameQueue(c.queue),
            ...(c.dead_letter_queue && { dead_letter_queue: renameQueue(c.dead_letter_queue) }),
          })),
        }),
      };
    }
    const d1: GeneratedWorker["d1"] = [];
    if (raw.d1_databases) {
      json.d1_databases = raw.d1_databases.map(({ preview_database_id: _local, ...db }) => {
        const name = rename(db.database_name);
        d1.push({ name, binding: db.binding });
        return {
          ...db,
          database_name: name,
          database_id: resources.d1[name] ?? UNCREATED_ID,
          ...(db.migrations_dir && { migrations_dir: rebase(db.migrations_dir) }),
        };
      });
    }
    if (raw.assets) json.assets = { ...raw.assets, directory: rebase(raw.assets.directory) };
    if (raw.alias) {
      // wrangler resolves an alias from the config's folder; a file path must follow the config.
      json.alias = Object.fromEntries(
        Object.entries(raw.alias).map(([name, target]) => [
          name,
          target.startsWith(".") ? `./${rebase(target)}` : target,
        ]),
      );
    }
    if (worker.name === "shop-gateway") {
      json.workers_dev = settings.gateway.workersDev;
      if (settings.gateway.routes.length > 0) json.routes = settings.gateway.routes;
    }
    // The simulator is reached over HTTPS by payments, like a real provider.
    if (worker.name === PSP_SIM.name) json.workers_dev = true;

    const config = join(outDir, "wrangler.json");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(config, `${JSON.stringify(json, null, 2)}\n`);
    return { base: worker.name, name: rename(worker.name), config, json, d1, secrets: raw.secrets?.required ?? [] };
  });
}

const LOOPBACK_OR_PRIVATE =
  /^(localhost|.*\.localhost|127(\.\d+){3}|0\.0\.0\.0|\[::1?\]|10(\.\d+){3}|192\.168(\.\d+){2}|172\.(1[6-9]|2\d|3[01])(\.\d+){2}|169\.254(\.\d+){2})$/i;

/** URLs of an endpoint list "name=url,..." (the simulator's own list holds names only). */
function endpointUrls(list: string): string[] {
  return list
    .split(",")
    .filter((item) => item.includes("="))
    .map((item) => item.slice(item.indexOf("=") + 1).trim());
}

/**
 * Development-only settings found in an environment's configs: faults, the local sender, the
 * faults admin URL, local CORS origins, plain-http or loopback provider URLs, and (in production)
 * the simulator. Empty means deployable.
 */
export function devOnlyProblems(env: EnvironmentName, workers: GeneratedWorker[]): string[] {
  const problems: string[] = [];
  for (const worker of workers) {
    const vars = (worker.json.vars ?? {}) as Record<string, string>;
    const at = `${worker.name} (${env})`;
    if ("FAULTS_ENABLED" in vars && vars.FAULTS_ENABLED !== "false") {
      problems.push(`${at}: FAULTS_ENABLED is "${vars.FAULTS_ENABLED}"; faults exist only in development`);
    }
    if (vars.NOTIFICATION_SENDER === "local") problems.push(`${at}: NOTIFICATION_SENDER "local" is development-only`);
    if (vars.METRICS_LOCAL === "true")
      problems.push(`${at}: METRICS_LOCAL (the local metrics store) is development-only`);
    if (vars.METRICS_SOURCE === "local") problems.push(`${at}: METRICS_SOURCE "local" is development-only`);
    if (vars.PSP_ADMIN_URL) problems.push(`${at}: PSP_ADMIN_URL (the simulator's fault API) is development-only`);
    for (const origin of (vars.CORS_ORIGINS ?? "").split(",").filter(Boolean)) {
      const url = URL.parse(origin);
      if (url?.protocol !== "https:" || LOOPBACK_OR_PRIVATE.test(url.hostname)) {
        problems.push(`${at}: CORS origin ${origin} is not a public https origin`);
      }
    }
    for (const endpoint of endpointUrls(vars.PSP_ENDPOINTS ?? "")) {
      const url = URL.parse(endpoint);
      if (url?.protocol !== "https:") problems.push(`${at}: provider URL ${endpoint} is not https`);
      else if (LOOPBACK_OR_PRIVATE.test(url.hostname)) {
        problems.push(`${at}: provider URL ${endpoint} is a loopback or private address`);
      } else if (env === "production" && url.hostname.startsWith(PSP_SIM.name)) {
        problems.push(`${at}: production must use a real payment provider, not ${PSP_SIM.name}`);
      }
    }
    if (env === "production" && worker.base === PSP_SIM.name) {
      problems.push(`${worker.name}: the provider simulator is never deployed to production`);
    }
  }
  return problems;
}
