/**
 * The topology, read from the wrangler configs (the one place that declares who binds whom):
 * every Worker, its D1 databases, and the Workers it binds through `[[services]]` or a Durable
 * Object's `script_name`. The deploy order, the type-generation targets, the dev runner and the
 * test projects' auxiliary Workers (`auxWorkersOf` in test/support/node-config.ts) derive from it; `scripts/check-topology.ts` (in `npm run check`) fails when what stays hand-written
 * (tsconfig references, the test projects' auxiliary Workers) disagrees with it.
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface WorkerNode {
  /** The Worker's name, e.g. `shop-orders`. */
  name: string;
  /** Its folder under `workers/` (`gateway` for the root config). */
  dir: string;
  /** Its wrangler config, relative to the repository root. */
  config: string;
  d1: string[];
  /** The Workers it binds (services and Durable Objects hosted elsewhere), sorted. */
  binds: string[];
}

/** Every Worker with a wrangler config: `wrangler.toml` (the gateway) and `workers/<dir>/wrangler.toml`. */
export function readTopology(root = ROOT): WorkerNode[] {
  const configs = [
    { dir: "gateway", config: "wrangler.toml" },
    ...readdirSync(join(root, "workers"))
      .filter((dir) => existsSync(join(root, "workers", dir, "wrangler.toml")))
      .map((dir) => ({ dir, config: `workers/${dir}/wrangler.toml` })),
  ];
  return configs.map(({ dir, config }) => {
    const parsed = unstable_readConfig({ config: join(root, config) }, { hideWarnings: true });
    const binds = new Set<string>();
    for (const service of parsed.services ?? []) binds.add(service.service);
    for (const binding of parsed.durable_objects.bindings) {
      if (binding.script_name && binding.script_name !== parsed.name) binds.add(binding.script_name);
    }
    return {
      name: parsed.name as string,
      dir,
      config,
      d1: parsed.d1_databases.map((d: { database_name?: string }) => d.database_name as string),
      binds: [...binds].sort(),
    };
  });
}

/** Bound Workers before the ones that bind them (ties by name); a cycle is an error. */
export function deployOrder(nodes: readonly WorkerNode[]): WorkerNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const order: WorkerNode[] = [];
  const placed = new Set<string>();
  while (order.length < nodes.length) {
    const ready = nodes
      .filter((n) => !placed.has(n.name) && n.binds.every((b) => placed.has(b) || !byName.has(b)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const next = ready[0];
    if (!next) {
      const left = nodes.filter((n) => !placed.has(n.name)).map((n) => n.name);
      throw new Error(`the bindings of ${left.join(", ")} form a cycle: no deploy order exists`);
    }
    order.push(next);
    placed.add(next.name);
  }
  for (const node of nodes) {
    for (const bound of node.binds) {
      if (!byName.has(bound)) throw new Error(`${node.name} binds ${bound}, which has no wrangler config`);
    }
  }
  return order;
}

/**
 * The Workers a Worker needs running beside it: every Worker it binds, and every Worker those bind,
 * in deploy order (bound Workers first). An unknown main Worker or binding is an error.
 */
export function boundClosure(nodes: readonly WorkerNode[], main: string): WorkerNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  if (!byName.has(main)) throw new Error(`no wrangler config names ${main}`);
  const needed = new Set<string>();
  const visit = (name: string) => {
    for (const bound of byName.get(name)?.binds ?? []) {
      if (!byName.has(bound)) throw new Error(`${name} binds ${bound}, which has no wrangler config`);
      if (bound !== main && !needed.has(bound)) {
        needed.add(bound);
        visit(bound);
      }
    }
  };
  visit(main);
  return deployOrder(nodes).filter((n) => needed.has(n.name));
}
