#!/usr/bin/env node
/**
 * A recording stand-in for the wrangler CLI (no Cloudflare account is reachable from the tests):
 * appends each command to $FAKE_WRANGLER_LOG (one JSON array per line) and answers the commands
 * scripts/deploy.ts and scripts/rollback.ts use the way wrangler 4 does, from an account kept in
 * $FAKE_WRANGLER_STATE (JSON). Secret values are never stored, only a digest of each, so a test can
 * tell whether two Workers got the same key.
 */
import { createHash, randomUUID } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const args = process.argv.slice(2);
const statePath = process.env.FAKE_WRANGLER_STATE;
appendFileSync(process.env.FAKE_WRANGLER_LOG, `${JSON.stringify(args)}\n`);
const state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : {};
state.d1 ??= {};
state.queues ??= {};
state.workers ??= {};
state.migrations ??= {};
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));
const flag = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const config = () => JSON.parse(readFileSync(flag("-c"), "utf8"));
const fail = (message) => {
  process.stderr.write(`✘ [ERROR] ${message}\n`);
  process.exit(1);
};
const digest = (value) => createHash("sha256").update(value).digest("hex").slice(0, 16);
const [command, sub] = args;

if (command === "whoami") {
  if (!state.loggedIn) fail("You are not authenticated. Please run `wrangler login`.");
  console.log(
    JSON.stringify({
      loggedIn: true,
      authType: "OAuth Token",
      email: "ops@example.com",
      accounts: state.accounts ?? [],
    }),
  );
} else if (command === "d1" && sub === "list") {
  console.log(JSON.stringify(Object.entries(state.d1).map(([name, uuid]) => ({ uuid, name }))));
} else if (command === "d1" && sub === "create") {
  if (state.d1[args[2]]) fail(`A database with that name already exists [code: 7502]`);
  state.d1[args[2]] = randomUUID();
  save();
  console.log(`✅ Successfully created DB '${args[2]}'`);
} else if (command === "d1" && sub === "info") {
  const uuid = state.d1[args[2]];
  if (!uuid) fail(`Couldn't find DB with name '${args[2]}'`);
  console.log(JSON.stringify({ uuid, name: args[2] }));
} else if (command === "d1" && sub === "migrations" && args[2] === "apply") {
  const db = args[3];
  const entry = config().d1_databases.find((d) => d.database_name === db);
  if (!entry || !state.d1[db] || state.d1[db] !== entry.database_id)
    fail(`Couldn't find a D1 DB with the name or binding '${db}'`);
  const files = readdirSync(resolve(dirname(flag("-c")), entry.migrations_dir)).filter((f) => f.endsWith(".sql"));
  const applied = state.migrations[db] ?? [];
  const todo = files.filter((f) => !applied.includes(f));
  state.migrations[db] = [...applied, ...todo];
  save();
  console.log(todo.length === 0 ? "✅ No migrations to apply!" : `Migrations applied: ${todo.join(", ")}`);
} else if (command === "queues" && sub === "list") {
  console.log("┌──────┬──────┐\n│ id │ name │");
  for (const [name, queue] of Object.entries(state.queues)) console.log(`│ ${queue.id} │ ${name} │`);
} else if (command === "queues" && sub === "create") {
  if (state.queues[args[2]]) fail(`A queue with this name already exists [code: 11009]`);
  state.queues[args[2]] = {
    id: randomUUID(),
    retentionSeconds: Number(flag("--message-retention-period-secs") ?? 345600),
  };
  save();
  console.log(`✅ Created queue '${args[2]}'`);
} else if (command === "secret" && sub === "list") {
  if (state.failSecretList) fail("A request to the Cloudflare API failed. Authentication error [code: 10000]");
  const worker = state.workers[config().name];
  if (!worker) fail("This Worker does not exist on your account. [code: 10007]");
  console.log(JSON.stringify(Object.keys(worker.secrets).map((name) => ({ name, type: "secret_text" }))));
} else if (command === "deploy") {
  const { name } = config();
  state.workers[name] ??= { versions: [], secrets: {} };
  const worker = state.workers[name];
  const file = flag("--secrets-file");
  if (file) {
    for (const [key, value] of Object.entries(JSON.parse(readFileSync(file, "utf8"))))
      worker.secrets[key] = digest(value);
  }
  const version = randomUUID();
  worker.versions.push(version);
  save();
  console.log(
    `Uploaded ${name}\nDeployed ${name} triggers\n  https://${name}.fake.workers.dev\nCurrent Version ID: ${version}`,
  );
} else if (command === "rollback") {
  const name = flag("--name");
  const worker = state.workers[name];
  if (!worker || worker.versions.length < 2) fail(`${name} has no previous version to roll back to`);
  worker.versions.pop();
  save();
  console.log(`Worker Version ${worker.versions.at(-1)} has been deployed to 100% of traffic.`);
} else {
  fail(`fake wrangler does not know: ${args.join(" ")}`);
}
