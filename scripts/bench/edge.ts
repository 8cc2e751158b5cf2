/**
 * edge-shop as deployed, in one Miniflare: every Worker of the topology built by wrangler exactly
 * as `npm run deploy` builds it (`wrangler deploy --dry-run`), with the bindings, D1 databases,
 * Durable Objects and queues of its wrangler config, the configs' [vars] as committed (SPEC's
 * quotas, faults off), real secrets generated for the run, payments' provider calls routed to the
 * simulator, and a trivial hello Worker beside them as the runtime floor. All of it runs in one
 * workerd process, whose CPU the bench reads.
 *
 * One difference, on purpose: the gateway runs without its static assets (the console). Its config
 * sets `run_worker_first`, so on Cloudflare every request runs the gateway Worker at once; Miniflare
 * instead emulates the assets router locally as two more isolates in front of it (an RPC proxy and
 * the router), which is not the Worker's CPU on Cloudflare. The bench asks for no asset.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { buildGatewayAssets } from "../gateway-assets.ts";
import { generateApiKey } from "../keys.ts";
import { PSP_SIM, ROOT, WORKERS, wrangler } from "../lib.ts";
import type { WorkerNode } from "../topology.ts";
import { PRIMITIVES, PRIMITIVES_SCHEMA, primitiveWorkers } from "./primitives.ts";
import { descendantsNamed } from "./proc.ts";

export const HELLO = "bench-hello";

type Options = Record<string, unknown>;

/** Builds every Worker as a deploy does, into `outRoot/<name>`. */
export async function buildAll(outRoot: string): Promise<void> {
  buildGatewayAssets();
  for (const worker of [...WORKERS, PSP_SIM]) {
    await wrangler(["deploy", "--dry-run", "--outdir", join(outRoot, worker.name), "-c", worker.config], {
      quiet: true,
    });
  }
}

/**
 * A Worker's [vars] as committed. Miniflare's options from wrangler also carry `.dev.vars`, which
 * `npm run dev` writes with development settings (the local metrics store, faults): a bench run
 * after a dev run would measure those.
 */
export function committedVars(config: string): Record<string, string> {
  const parsed = unstable_readConfig({ config: join(ROOT, config) }, { hideWarnings: true });
  return Object.fromEntries(
    Object.entries(parsed.vars).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** A built Worker in Miniflare's shape, from its wrangler config. */
function workerOptions(node: WorkerNode, outRoot: string, extra: Options = {}): Options {
  const { workerOptions: w } = unstable_getMiniflareWorkerOptions(join(ROOT, node.config));
  const o = w as unknown as Options;
  const built = join(outRoot, node.name);
  return {
    name: node.name,
    modules: true,
    scriptPath: join(built, "index.js"),
    modulesRoot: built,
    compatibilityDate: o.compatibilityDate,
    compatibilityFlags: o.compatibilityFlags,
    d1Databases: o.d1Databases,
    durableObjects: o.durableObjects,
    serviceBindings: o.serviceBindings,
    queueProducers: o.queueProducers,
    queueConsumers: o.queueConsumers,
    analyticsEngineDatasets: o.analyticsEngineDatasets,
    ...extra,
    bindings: { ...committedVars(node.config), ...(extra.bindings as Record<string, string>) },
  };
}

export interface Edge {
  mf: Miniflare;
  /** The gateway (Miniflare's entry). */
  gateway: URL;
  /** shop-users' own socket (its HTTP app, as the gateway's forward reaches it). */
  users: URL;
  hello: URL;
  /** The building blocks' Worker (scripts/bench/primitives.ts). */
  primitives: URL;
  /** The workerd process running every Worker. */
  pid: number;
}

export async function startEdge(outRoot: string, stateDir: string, signingKey: string): Promise<Edge> {
  const pspKey = await generateApiKey();
  const direct = { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] };
  const secrets: Record<string, Options> = {
    "shop-gateway": { stripCfConnectingIp: false },
    "shop-users": { bindings: { JWT_SIGNING_KEY: signingKey, JWT_PREVIOUS_PUBLIC_KEYS: "[]" }, ...direct },
    "shop-payments": { bindings: { PSP_API_KEY: pspKey }, outboundService: PSP_SIM.name },
    "shop-psp-sim": { bindings: { PSP_API_KEY: pspKey } },
  };
  // The gateway first: Miniflare's entry socket serves the first Worker.
  const nodes = [
    ...WORKERS.filter((w) => w.name === "shop-gateway"),
    ...WORKERS.filter((w) => w.name !== "shop-gateway"),
    PSP_SIM,
  ];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      defaultPersistRoot: stateDir,
      // The Workers' logs are dropped (in production they go to Workers Logs, not a terminal).
      handleStructuredLogs: () => {},
      workers: [
        ...nodes.map((node) => workerOptions(node, outRoot, secrets[node.name])),
        {
          name: HELLO,
          modules: true,
          compatibilityDate: "2026-11-01",
          script: 'export default { fetch() { return new Response("hello"); } };',
          ...direct,
        },
        ...primitiveWorkers(HELLO, "2026-11-01"),
      ],
    } as never),
  );
  const gateway = await mf.ready;
  for (const node of nodes) {
    const dir = join(ROOT, "d1", node.dir, "migrations");
    if (node.d1.length === 0 || !existsSync(dir)) continue;
    const db = await mf.getD1Database("DB", node.name);
    for (const migration of await readD1Migrations(dir)) {
      await db.batch(migration.queries.map((query) => db.prepare(query)));
    }
  }
  const blocksDb = await mf.getD1Database("DB", PRIMITIVES);
  await blocksDb.batch(PRIMITIVES_SCHEMA.map((query) => blocksDb.prepare(query)));
  const [pid, ...more] = descendantsNamed(process.pid, "workerd");
  if (pid === undefined || more.length > 0)
    throw new Error(`expected one workerd process, found ${more.length + (pid === undefined ? 0 : 1)}`);
  return {
    mf,
    gateway,
    users: await mf.unsafeGetDirectURL("shop-users"),
    hello: await mf.unsafeGetDirectURL(HELLO),
    primitives: await mf.unsafeGetDirectURL(PRIMITIVES),
    pid,
  };
}
