/**
 * Node-side helpers for the test projects' configs: real ES256 keys made per run (no key is ever
 * committed), the D1 migrations, and each project's auxiliary Workers in Miniflare's shape, derived
 * from the wrangler configs.
 */
import { join } from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { boundClosure, readTopology, type WorkerNode } from "../../scripts/topology.ts";
import type { TestKeys } from "./provided";

export const ROOT = join(import.meta.dirname, "..", "..");

/**
 * The per-test timeout of the projects that run Workers in Miniflare: queue deliveries and D1 take
 * seconds on a busy 2-core CI machine, and the 5 s default failed there.
 */
export const MINIFLARE_TEST_TIMEOUT_MS = 15_000;

async function privateJwk(): Promise<Record<string, string>> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = (await exportJWK(privateKey)) as Record<string, string>;
  const kid = await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } as never);
  return { kty: "EC", crv: "P-256", x: jwk.x as string, y: jwk.y as string, d: jwk.d as string, kid };
}

export async function makeTestKeys(): Promise<TestKeys> {
  const current = await privateJwk();
  const previous = await privateJwk();
  const { d: _d, ...previousPublic } = previous;
  return {
    signingKey: JSON.stringify(current),
    previousSigningKey: JSON.stringify(previous),
    previousPublicKeys: JSON.stringify([previousPublic]),
  };
}

export function usersMigrations() {
  return readD1Migrations(join(ROOT, "d1", "users", "migrations"));
}

type DurableObjects = Record<string, { className: string; useSQLite?: boolean; scriptName?: string }>;
/** The queue settings Miniflare reads from a wrangler config (the typings of the helper omit them). */
interface QueueOptions {
  queueProducers?: Record<string, { queueName: string }>;
  queueConsumers?: Record<
    string,
    {
      maxBatchSize?: number;
      maxBatchTimeout?: number;
      maxRetries?: number;
      deadLetterQueue?: string;
      retryDelay?: number;
    }
  >;
}
type ServiceBindings = Record<string, string | { name: string }>;

export interface AuxOptions {
  /** Extra or overriding bindings (secrets, test settings). */
  bindings?: Record<string, string>;
  /** Durable Objects the Worker hosts (SQLite) or binds from another Worker. */
  durableObjects?: DurableObjects;
  /** Service bindings to other auxiliary Workers, by binding name. */
  serviceBindings?: ServiceBindings;
  /** Sends the Worker's outbound fetches to another Worker (e.g. the PSP simulator). */
  outboundService?: string;
}

/**
 * A Worker as an auxiliary Worker of a test project: the runtime settings, vars and D1 bindings of
 * its wrangler config, its script as `npm test` built it (scripts/build-test-workers.ts), and the
 * test's own settings. Auxiliary Workers must be built JavaScript and take their secrets from here.
 */
export function auxWorker(name: string, dir: string, options: AuxOptions = {}) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers", dir, "wrangler.toml"));
  const built = join(ROOT, ".test-workers", name);
  return {
    name,
    modules: true,
    scriptPath: join(built, "index.js"),
    modulesRoot: built,
    compatibilityDate: workerOptions.compatibilityDate as string,
    compatibilityFlags: workerOptions.compatibilityFlags as string[],
    bindings: { ...(workerOptions.bindings as Record<string, string>), ...options.bindings },
    d1Databases: workerOptions.d1Databases as Record<string, { id: string }>,
    // Its config's objects (hosted ones SQLite-backed, bound ones by script name) and services.
    durableObjects: { ...(workerOptions.durableObjects as DurableObjects), ...options.durableObjects },
    serviceBindings: { ...(workerOptions.serviceBindings as ServiceBindings), ...options.serviceBindings },
    // Its queues: what it sends to, and what it consumes (with the config's retries and dead letters).
    queueProducers: (workerOptions as unknown as QueueOptions).queueProducers,
    queueConsumers: (workerOptions as unknown as QueueOptions).queueConsumers,
    ...(options.outboundService ? { outboundService: options.outboundService } : {}),
  };
}

export function paymentsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "payments", "migrations"));
}

export function ordersMigrations() {
  return readD1Migrations(join(ROOT, "d1", "orders", "migrations"));
}

export function catalogMigrations() {
  return readD1Migrations(join(ROOT, "d1", "catalog", "migrations"));
}

export function eventsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "events", "migrations"));
}

export function notificationsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "notifications", "migrations"));
}

/** The provider API key payments sends and the simulator checks in tests (a secret elsewhere). */
export const TEST_PSP_API_KEY = "test-provider-key-0123456789abcdef";

type AuxWorker = ReturnType<typeof auxWorker>;

export interface ProjectAuxOptions {
  /** The run's signing keys: shop-users gets them when it runs. */
  keys?: TestKeys;
  /** Test settings by Worker name, over its config's vars (a Worker the project does not run is an error). */
  settings?: Record<string, Record<string, string>>;
  /** Further Miniflare options by Worker name, over the derived ones (quicker queue retries, say). */
  overrides?: Record<string, Partial<AuxWorker>>;
}

/**
 * What a Worker needs as an auxiliary Worker beyond its wrangler config: its secrets, the test
 * settings every project gives it (fault injection on, as in local dev), and where its outbound
 * fetches go (the provider simulator stands in for the network behind shop-payments).
 */
const AUX_SETUP: Record<string, { bindings?: (keys?: TestKeys) => Record<string, string>; outbound?: string }> = {
  "shop-users": {
    bindings: (keys) => {
      if (!keys) throw new Error("shop-users runs in this project: pass the run's keys to auxWorkersOf");
      return { JWT_SIGNING_KEY: keys.signingKey, JWT_PREVIOUS_PUBLIC_KEYS: keys.previousPublicKeys };
    },
  },
  "shop-psp-sim": { bindings: () => ({ FAULTS_ENABLED: "true", PSP_API_KEY: TEST_PSP_API_KEY }) },
  "shop-payments": {
    bindings: () => ({ FAULTS_ENABLED: "true", PSP_API_KEY: TEST_PSP_API_KEY }),
    outbound: "shop-psp-sim",
  },
  "shop-orders": { bindings: () => ({ FAULTS_ENABLED: "true" }) },
  // the notifications fault target (a consumer that fails deliveries) is development-only
  "shop-notifications": { bindings: () => ({ FAULTS_ENABLED: "true" }) },
};

/**
 * A test project's auxiliary Workers, derived from the wrangler configs (`scripts/topology.ts`):
 * every Worker the main Worker binds, directly or through another, and the Worker behind an
 * auxiliary Worker's outbound fetches; each with its config, its secrets and the project's
 * settings. Adding a binding to a config adds the Worker to every project that needs it.
 */
export function auxWorkersOf<Extra extends object = never>(
  mainConfig: string,
  options: ProjectAuxOptions & {
    /** Workers no wrangler config binds that the project runs too (stand-ins, a locked simulator). */
    extra?: Extra[];
  } = {},
): (AuxWorker | Extra)[] {
  const nodes = readTopology(ROOT);
  const main = nodes.find((node) => node.config === mainConfig);
  if (!main) throw new Error(`no Worker has the wrangler config ${mainConfig}`);
  const names = boundClosure(nodes, main.name).map((node) => node.name);
  for (const name of [...names]) {
    const outbound = AUX_SETUP[name]?.outbound;
    if (outbound && !names.includes(outbound)) names.push(outbound);
  }
  for (const name of [...Object.keys(options.settings ?? {}), ...Object.keys(options.overrides ?? {})]) {
    if (!names.includes(name))
      throw new Error(`${name} is not among ${main.name}'s auxiliary Workers (${names.join(", ")})`);
  }
  const derived = names.map((name) => {
    const node = nodes.find((n) => n.name === name) as WorkerNode;
    const setup = AUX_SETUP[name] ?? {};
    const worker = auxWorker(name, node.dir, {
      bindings: { ...setup.bindings?.(options.keys), ...options.settings?.[name] },
      ...(setup.outbound ? { outboundService: setup.outbound } : {}),
    });
    return { ...worker, ...options.overrides?.[name] };
  });
  return [...derived, ...(options.extra ?? [])];
}

/**
 * The id a Worker's config gives its D1 database locally (preview_database_id, which local D1
 * prefers over database_id): the runner binds the same storage by using the same id. Read from the
 * config, so a real database_id written there by a deploy changes nothing here.
 */
export function localDatabaseId(dir: string, binding = "DB"): string {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers", dir, "wrangler.toml"));
  const databases = workerOptions.d1Databases as Record<string, string | { id: string }> | undefined;
  const entry = databases?.[binding];
  const id = typeof entry === "string" ? entry : entry?.id;
  if (!id) throw new Error(`workers/${dir}/wrangler.toml binds no D1 database as ${binding}`);
  return id;
}

export const USERS_DB_ID = localDatabaseId("users");
export const CATALOG_DB_ID = localDatabaseId("catalog");
export const PAYMENTS_DB_ID = localDatabaseId("payments");
export const ORDERS_DB_ID = localDatabaseId("orders");
export const EVENTS_DB_ID = localDatabaseId("events");
export const NOTIFICATIONS_DB_ID = localDatabaseId("notifications");
