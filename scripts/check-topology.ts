/**
 * `npm run check` step: what must stay hand-written agrees with the topology the wrangler configs
 * declare (`topology.ts`): each Worker's tsconfig references the Workers it binds (their RPC and
 * Durable Object types), and each test project whose main Worker binds others runs them beside it
 * as auxiliary Workers. Pure `disagreements()` is tested with deliberate mistakes
 * (test/unit/topology.unit.test.ts); the CLI reads the files.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readTopology, type WorkerNode } from "./topology.ts";

export interface Sources {
  /** `workers/<dir>/tsconfig.json` text by Worker dir. */
  tsconfigs: Record<string, string>;
  /** `test/<project>/vitest.config.ts` text by project. */
  testConfigs: Record<string, string>;
}

const dirOf = (name: string, workers: readonly WorkerNode[]) => workers.find((w) => w.name === name)?.dir;

/** The Workers a test project runs: its main Worker (by config path) and its auxiliary Workers. */
function testWorkers(source: string, workers: readonly WorkerNode[]): { main?: WorkerNode; aux: Set<string> } {
  const main = workers.find((w) => source.includes(`"${w.config}"`) || source.includes(`join(ROOT, "${w.config}")`));
  const aux = new Set<string>();
  for (const m of source.matchAll(/auxWorker\(\s*"(shop-[a-z-]+)"/g)) if (m[1]) aux.add(m[1]);
  // Named helpers of test/support/node-config.ts: `ordersAuxWorker(`, `pspSimAuxWorker(`, ...
  for (const m of source.matchAll(/\b([a-z][A-Za-z]*)AuxWorker\(/g)) {
    const dir = (m[1] as string).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const worker = workers.find((w) => w.dir === dir);
    if (worker) aux.add(worker.name);
  }
  return { main, aux };
}

export function disagreements(workers: readonly WorkerNode[], sources: Sources): string[] {
  const problems: string[] = [];
  for (const worker of workers) {
    const tsconfig = sources.tsconfigs[worker.dir];
    if (tsconfig === undefined) continue;
    for (const bound of worker.binds) {
      const dir = dirOf(bound, workers);
      if (dir && !tsconfig.includes(`"../${dir}"`)) {
        problems.push(
          `workers/${worker.dir}/tsconfig.json: ${worker.name} binds ${bound}; add a reference to ../${dir}`,
        );
      }
    }
  }
  for (const [project, source] of Object.entries(sources.testConfigs)) {
    const { main, aux } = testWorkers(source, workers);
    if (!main) continue;
    for (const bound of main.binds) {
      if (!aux.has(bound)) {
        problems.push(
          `test/${project}/vitest.config.ts: ${main.name} binds ${bound}, which is not among its auxiliary Workers`,
        );
      }
    }
  }
  return problems;
}

if (import.meta.main) {
  const root = join(import.meta.dirname, "..");
  const workers = readTopology(root);
  const tsconfigs: Record<string, string> = {};
  for (const w of workers) {
    const path =
      w.dir === "gateway" ? join(root, "workers/gateway/tsconfig.json") : join(root, "workers", w.dir, "tsconfig.json");
    if (existsSync(path)) tsconfigs[w.dir] = readFileSync(path, "utf8");
  }
  const testConfigs: Record<string, string> = {};
  for (const project of readdirSync(join(root, "test"))) {
    const path = join(root, "test", project, "vitest.config.ts");
    if (existsSync(path)) testConfigs[project] = readFileSync(path, "utf8");
  }
  const problems = disagreements(workers, { tsconfigs, testConfigs });
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log(
    `topology ok: ${workers.length} Workers; tsconfig references and test projects agree with the wrangler configs`,
  );
}
