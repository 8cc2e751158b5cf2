/**
 * `npm run types` writes the generated types; `--check` (part of `npm run check`) fails when a
 * wrangler config changed without regenerating them. Each Worker gets its own Env file (with the
 * configs of the Workers it binds, for typed RPC stubs); runtime types are generated once.
 */
import { wrangler } from "./lib.ts";

const TARGETS: { file: string; configs: string[]; runtime: boolean }[] = [
  { file: "types/worker-runtime.d.ts", configs: ["wrangler.toml"], runtime: true },
  {
    file: "workers/gateway/worker-configuration.d.ts",
    configs: ["wrangler.toml", "workers/users/wrangler.toml", "workers/resilience/wrangler.toml"],
    runtime: false,
  },
  { file: "workers/users/worker-configuration.d.ts", configs: ["workers/users/wrangler.toml"], runtime: false },
  {
    file: "workers/resilience/worker-configuration.d.ts",
    configs: ["workers/resilience/wrangler.toml"],
    runtime: false,
  },
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
