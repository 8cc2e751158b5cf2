/**
 * `npm run types` writes the generated types; `--check` (part of `npm run check`) fails when a
 * wrangler config changed without regenerating them. Each Worker gets its own Env file (with the
 * configs of the Workers it binds, for typed RPC stubs); runtime types are generated once.
 */
import { wrangler } from "./lib.ts";
import { readTopology } from "./topology.ts";

/**
 * A Worker's Env file: its own config first, then the configs of the Workers it binds (for typed
 * RPC and Durable Object stubs), as `topology.ts` reads them from the configs.
 */
const workers = readTopology();
const configOf = new Map(workers.map((w) => [w.name, w.config]));
const TARGETS: { file: string; configs: string[]; runtime: boolean }[] = [
  { file: "types/worker-runtime.d.ts", configs: ["wrangler.toml"], runtime: true },
  ...workers.map((w) => ({
    file:
      w.dir === "gateway" ? "workers/gateway/worker-configuration.d.ts" : `workers/${w.dir}/worker-configuration.d.ts`,
    configs: [w.config, ...w.binds.map((b) => configOf.get(b) as string)],
    runtime: false,
  })),
];

const check = process.argv.includes("--check");
let stale = 0;
for (const target of TARGETS) {
  const args = [
    "types",
    target.file,
    ...target.configs.flatMap((c) => ["-c", c]),
    ...(target.runtime ? ["--include-env=false"] : ["--include-runtime=false", "--strict-vars=false"]),
    ...(check ? ["--check"] : []),
  ];
  try {
    await wrangler(args, { quiet: true });
    console.log(`${check ? "up to date" : "wrote"}: ${target.file}`);
  } catch (error) {
    stale += 1;
    console.error(
      `${target.file}: ${check ? "out of date; run `npm run types`" : "failed"}\n${String(error).slice(-1500)}`,
    );
  }
}
if (stale > 0) process.exit(1);
