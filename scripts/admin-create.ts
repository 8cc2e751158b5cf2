/**
 * `npm run admin:create -- --email a@b.c [--name N] [--remote]`: makes an admin account in the
 * local users-db, or on Cloudflare with --remote. The password comes from ADMIN_PASSWORD, or is
 * asked for on the terminal; it is never a command-line argument (shell history, process lists).
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { adminSql, checkAdminInput } from "./admin.ts";
import { STATE_DIR, wrangler } from "./lib.ts";

const { values } = parseArgs({
  options: {
    email: { type: "string" },
    name: { type: "string", default: "Administrator" },
    remote: { type: "boolean", default: false },
  },
});

async function askPassword(): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question("Password for the new admin (12..128 characters): ");
  rl.close();
  return answer;
}

if (!values.email) {
  console.error("usage: npm run admin:create -- --email admin@example.com [--name Name] [--remote]");
  process.exit(2);
}
const input = { email: values.email, name: values.name ?? "Administrator", password: await askPassword() };
const problem = checkAdminInput(input);
if (problem) {
  console.error(`admin:create: ${problem}`);
  process.exit(2);
}
const target = values.remote ? ["--remote"] : ["--local", "--persist-to", STATE_DIR];
await wrangler(["d1", "migrations", "apply", "users-db", ...target, "-c", "workers/users/wrangler.toml"], {
  quiet: true,
});
await wrangler(
  ["d1", "execute", "users-db", ...target, "-c", "workers/users/wrangler.toml", "--command", await adminSql(input)],
  {
    quiet: true,
  },
);
console.log(`admin ${input.email.trim().toLowerCase()} is ready (${values.remote ? "on Cloudflare" : "locally"})`);
