/**
 * Records an entry in the audit trail from a script, through the real path: shop-ops' `audit()`
 * RPC and its AuditLog object (the hash chain), run under Miniflare on the local state folder that
 * `npm run dev` uses, so the entry joins the same chain the console shows. Scripts that change
 * privileged state outside the gateway (`npm run admin:create`) record themselves here.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import type { AuditEntry, AuditInput } from "../workers/shared/src/contracts/ops.ts";
import type { Result } from "../workers/shared/src/result.ts";
import { ROOT, wrangler } from "./lib.ts";

/**
 * A caller of shop-ops over a service binding, as the gateway is: POST /audit is `OPS.audit(body)`;
 * any other request goes to shop-ops' HTTP app as an admin's (to read the trail back).
 */
const CALLER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/audit") {
      return Response.json(await env.OPS.audit(await request.json()));
    }
    return env.OPS.fetch("https://ops.internal" + url.pathname + url.search, {
      headers: { "x-shop-user-id": "usr_cli", "x-shop-user-role": "admin" },
    });
  },
};`;

export interface LocalOps {
  /** `audit()` on shop-ops, over RPC. */
  audit(input: AuditInput): Promise<Result<AuditEntry>>;
  /** shop-ops' own HTTP app, as an admin reaches it through the gateway (for reading the trail). */
  fetchAsAdmin(path: string): Promise<Response>;
}

/**
 * Runs `use` against shop-ops on `persistTo` (a wrangler `--persist-to` folder). `built` is a
 * folder with shop-ops already built (the tests pass `.test-workers/shop-ops`); otherwise it is
 * built now with a dry-run deploy.
 */
export async function withLocalOps<T>(
  options: { persistTo: string; built?: string },
  use: (ops: LocalOps) => Promise<T>,
): Promise<T> {
  const scratch = options.built ? undefined : mkdtempSync(join(tmpdir(), "edge-shop-ops-"));
  const built = options.built ?? join(scratch as string, "shop-ops");
  try {
    if (!options.built) {
      await wrangler(["deploy", "--dry-run", "--outdir", built, "-c", "workers/ops/wrangler.toml"], { quiet: true });
    }
    const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers/ops/wrangler.toml"));
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        // The root wrangler dev gives Miniflare for `--persist-to` (Durable Objects in v3/do/<worker>-<class>).
        resourcePersistencePath: join(options.persistTo, "v3"),
        workers: [
          {
            name: "audit-caller",
            modules: true,
            script: CALLER,
            compatibilityDate: workerOptions.compatibilityDate as string,
            serviceBindings: { OPS: "shop-ops" },
          },
          {
            name: "shop-ops",
            modules: true,
            scriptPath: join(built, "index.js"),
            modulesRoot: built,
            compatibilityDate: workerOptions.compatibilityDate as string,
            compatibilityFlags: workerOptions.compatibilityFlags as string[],
            bindings: workerOptions.bindings as Record<string, string>,
            durableObjects: {
              AUDIT_LOG: { className: "AuditLog", useSQLite: true },
              METRICS_STORE: { className: "MetricsStore", useSQLite: true },
            },
          },
        ],
      } as never),
    );
    try {
      await mf.ready;
      return await use({
        audit: async (input) => {
          const response = await mf.dispatchFetch("https://caller.local/audit", {
            method: "POST",
            body: JSON.stringify(input),
          });
          return (await response.json()) as Result<AuditEntry>;
        },
        fetchAsAdmin: (path) => mf.dispatchFetch(`https://caller.local${path}`) as unknown as Promise<Response>,
      });
    } finally {
      await mf.dispose();
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
