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

/** shop-users as an auxiliary Worker: its wrangler config's bindings, its built script, test secrets. */
export function usersAuxWorker(keys: TestKeys) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers", "users", "wrangler.toml"));
  // Only what the built script needs: its runtime settings and bindings (secrets come from the test).
  return {
    compatibilityDate: workerOptions.compatibilityDate as string,
    compatibilityFlags: workerOptions.compatibilityFlags as string[],
    d1Databases: workerOptions.d1Databases as Record<string, { id: string }>,
    name: "shop-users",
    modules: true,
    scriptPath: join(ROOT, ".test-workers", "shop-users", "index.js"),
    modulesRoot: join(ROOT, ".test-workers", "shop-users"),
    bindings: {
      ...(workerOptions.bindings as Record<string, string>),
      JWT_SIGNING_KEY: keys.signingKey,
      JWT_PREVIOUS_PUBLIC_KEYS: keys.previousPublicKeys,
    },
  };
}

/** shop-resilience as an auxiliary Worker: hosts the CircuitBreaker objects other Workers bind. */
export function resilienceAuxWorker(bindings: Record<string, string> = {}) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers", "resilience", "wrangler.toml"));
  return {
    name: "shop-resilience",
    modules: true,
    compatibilityDate: workerOptions.compatibilityDate as string,
    compatibilityFlags: workerOptions.compatibilityFlags as string[],
    scriptPath: join(ROOT, ".test-workers", "shop-resilience", "index.js"),
    modulesRoot: join(ROOT, ".test-workers", "shop-resilience"),
    bindings: { ...(workerOptions.bindings as Record<string, string>), ...bindings },
    durableObjects: { CIRCUIT_BREAKER: { className: "CircuitBreaker", useSQLite: true } },
  };
}

/** The database id shop-users' wrangler config gives users-db: the runner binds the same storage. */
export const USERS_DB_ID = "00000000-0000-4000-8000-000000000001";
