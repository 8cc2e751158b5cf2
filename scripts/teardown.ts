/**
 * `npm run teardown -- --env staging --confirm staging`: deletes an environment from Cloudflare:
 * its Workers (gateway first), queues and D1 databases, with every order, user and event in them.
 * Irreversible, so it runs only when --confirm repeats the environment's name; production also
 * needs TEARDOWN_PRODUCTION=yes in the environment. Forgets the recorded ids in
 * deploy/resources.<env>.json. Export what you need first (`wrangler d1 export <db> --remote`).
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { environment } from "../deploy/environments.ts";
import { generateConfigs, readResources, resourcesPath } from "./env-config.ts";
import { wrangler } from "./lib.ts";

const { values } = parseArgs({ options: { env: { type: "string" }, confirm: { type: "string" } } });
const { name: env } = environment(values.env ?? "");
if (values.confirm !== env || (env === "production" && process.env.TEARDOWN_PRODUCTION !== "yes")) {
  console.error(
    `teardown deletes every Worker, queue and database of ${env}, with their data. To proceed:\n` +
      `  ${env === "production" ? "TEARDOWN_PRODUCTION=yes " : ""}npm run teardown -- --env ${env} --confirm ${env}`,
  );
  process.exit(1);
}
const resources = readResources(resourcesPath(env));
const workers = generateConfigs(env, { resources }).reverse();
const run = async (args: string[]) => {
  try {
    await wrangler(args, { quiet: true });
    console.log(`ok: wrangler ${args.join(" ")}`);
  } catch (error) {
    console.error(`failed (continuing): wrangler ${args.join(" ")}\n${String(error).slice(-300)}`);
  }
};
for (const worker of workers) await run(["delete", worker.name, "--force"]);
const queues = new Set<string>();
for (const worker of workers) {
  const q = (worker.json.queues ?? {}) as { consumers?: { queue: string; dead_letter_queue?: string }[] };
  for (const c of q.consumers ?? []) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
}
for (const queue of queues) await run(["queues", "delete", queue]);
for (const db of workers.flatMap((w) => w.d1)) await run(["d1", "delete", db.name, "--skip-confirmation"]);
rmSync(resourcesPath(env), { force: true });
console.log(`\n${env} torn down.`);
