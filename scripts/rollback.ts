/**
 * `npm run rollback -- --env staging|production`: every Worker of the environment back to its
 * previous version (`wrangler rollback`), the gateway first so no new traffic reaches the newer
 * code, then the others in reverse deploy order. Code and config only: D1 migrations, secrets and
 * queues are not rolled back (migrations are written to be compatible with the previous version).
 * Durable Object classes stay; the rolled-back code must still export them.
 */
import { parseArgs } from "node:util";
import { type EnvironmentName, environment } from "../deploy/environments.ts";
import { workersOf } from "./env-config.ts";
import { wrangler } from "./lib.ts";

export async function rollback(
  env: EnvironmentName,
  run: (args: string[]) => Promise<string>,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const { settings } = environment(env);
  const names = workersOf(settings)
    .map((w) => `${w.name}${settings.suffix}`)
    .reverse();
  for (const name of names) {
    await run(["rollback", "--name", name, "--message", `npm run rollback -- --env ${env}`, "--yes"]);
    log(`rolled back ${name}`);
  }
  return names;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { env: { type: "string" } } });
  try {
    await rollback(environment(values.env ?? "").name, (args) => wrangler(args, { quiet: true }));
  } catch (error) {
    console.error(`rollback stopped: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
