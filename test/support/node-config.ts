/**
 * Node-side helpers for the test projects' configs: real ES256 keys made per run (no key is ever
 * committed), the D1 migrations, and the auxiliary shop-users Worker in Miniflare's shape.
 */
import { join } from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import type { TestKeys } from "./provided";

export const ROOT = join(import.meta.dirname, "..", "..");

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

/** shop-users with the test's signing keys. */
export function usersAuxWorker(keys: TestKeys) {
  return auxWorker("shop-users", "users", {
    bindings: { JWT_SIGNING_KEY: keys.signingKey, JWT_PREVIOUS_PUBLIC_KEYS: keys.previousPublicKeys },
  });
}

/** shop-resilience: hosts the CircuitBreaker objects other Workers bind. */
export function resilienceAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-resilience", "resilience", { bindings });
}

/** The provider API key payments sends and the simulator checks in tests (a secret elsewhere). */
export const TEST_PSP_API_KEY = "test-provider-key-0123456789abcdef";

/** The payment provider's stand-in, with fault injection on (as in local dev). */
export function pspSimAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-psp-sim", "psp-sim", {
    bindings: { FAULTS_ENABLED: "true", PSP_API_KEY: TEST_PSP_API_KEY, ...bindings },
  });
}

/** shop-payments, its provider calls routed to the simulator instead of the network. */
export function paymentsAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-payments", "payments", {
    bindings: { FAULTS_ENABLED: "true", PSP_API_KEY: TEST_PSP_API_KEY, ...bindings },
    outboundService: "shop-psp-sim",
  });
}

/** shop-orders with its saga objects, and fault injection of the saga's calls on (as in local dev). */
export function ordersAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-orders", "orders", { bindings: { FAULTS_ENABLED: "true", ...bindings } });
}

export function paymentsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "payments", "migrations"));
}

export function ordersMigrations() {
  return readD1Migrations(join(ROOT, "d1", "orders", "migrations"));
}

/** shop-ops: the audit trail and the local metrics store. */
export function opsAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-ops", "ops", { bindings });
}

/** shop-alerts: the AlertManager object, which reads every service (the gateway binds it). */
export function alertsAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-alerts", "alerts", { bindings });
}

/** shop-catalog with its D1. */
export function catalogAuxWorker() {
  return auxWorker("shop-catalog", "catalog");
}

export function catalogMigrations() {
  return readD1Migrations(join(ROOT, "d1", "catalog", "migrations"));
}

/** shop-events: the bus (consumes shop-events and the dead-letter queues) and its log. */
export function eventsAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-events", "events", { bindings });
}

export function eventsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "events", "migrations"));
}

/** shop-notifications: consumes its queue, records and "sends" through the local sender. */
export function notificationsAuxWorker(bindings: Record<string, string> = {}) {
  return auxWorker("shop-notifications", "notifications", { bindings: { FAULTS_ENABLED: "true", ...bindings } });
}

export function notificationsMigrations() {
  return readD1Migrations(join(ROOT, "d1", "notifications", "migrations"));
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
