/**
 * `npm run check` step: what must stay hand-written agrees with the topology the wrangler configs
 * declare (`topology.ts`): each Worker's tsconfig references the Workers it binds (their RPC and
 * Durable Object types), and each test project whose main Worker binds others derives its
 * auxiliary Workers from the configs (`auxWorkersOf(<its main Worker's config>)` of
 * test/support/node-config.ts) rather than listing them by hand. Pure `disagreements()` is tested
 * with deliberate mistakes (test/unit/topology.unit.test.ts); the CLI reads the files.
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

/** A test project's main Worker, by the config path its `cloudflareTest()` names. */
function mainWorker(source: string, workers: readonly WorkerNode[]): WorkerNode | undefined {
  return workers.find(
    (w) => source.includes(`join(ROOT, "${w.config}")`) || source.includes(`configPath: "${w.config}"`),
  );
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
    const main = mainWorker(source, workers);
    if (!main || main.binds.length === 0) continue;
    if (!source.includes(`auxWorkersOf("${main.config}"`)) {
      problems.push(
        `test/${project}/vitest.config.ts: ${main.name} binds ${main.binds.join(", ")}; derive its auxiliary Workers with auxWorkersOf("${main.config}", ...)`,
      );
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
