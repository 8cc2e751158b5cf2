/**
 * `npm run types` writes the generated types; `--check` (part of `npm run check`) fails when a
 * wrangler config changed without regenerating them. Each Worker gets its own Env file (with the
 * configs of the Workers it binds, for typed RPC stubs); runtime types are generated once.
 */
import { wrangler } from "./lib.ts";

/** A Worker's Env file: its own config first, then the configs of the Workers it binds. */
const worker = (dir: string, binds: string[] = []) => ({
  file: dir === "gateway" ? "workers/gateway/worker-configuration.d.ts" : `workers/${dir}/worker-configuration.d.ts`,
  configs: [
    dir === "gateway" ? "wrangler.toml" : `workers/${dir}/wrangler.toml`,
    ...binds.map((b) => `workers/${b}/wrangler.toml`),
  ],
  runtime: false,
});

const TARGETS: { file: string; configs: string[]; runtime: boolean }[] = [
  { file: "types/worker-runtime.d.ts", configs: ["wrangler.toml"], runtime: true },
  worker("gateway", [
    "users",
    "resilience",
    "catalog",
    "payments",
    "orders",
    "events",
    "notifications",
    "ops",
    "alerts",
  ]),
  worker("ops"),
  worker("events"),
  worker("users", ["events"]),
  worker("resilience"),
  worker("catalog", ["events"]),
  worker("psp-sim"),
  worker("payments", ["resilience", "events"]),
  worker("orders", ["catalog", "payments", "resilience", "events"]),
  worker("notifications", ["events"]),
  worker("alerts", ["users", "catalog", "resilience", "payments", "orders", "events", "notifications", "ops"]),
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
