/**
 * `npm run admin:create -- --email a@b.c [--name N] [--remote]`: makes an admin account in the
 * local users-db, or on Cloudflare with --remote. The password comes from ADMIN_PASSWORD, or is
 * asked for on the terminal; it is never a command-line argument (shell history, process lists).
 * The change raises `user.created` or `user.updated` with the actor `system:cli` (in users-db's
 * outbox, in the same SQL); shop-events forwards it to `shop-audit`, and shop-ops records it as
 * `admin.create` in the audit trail (`workers/ops/src/audit-events.ts`), on Cloudflare as locally.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { childTrace, formatTraceparent } from "../workers/shared/src/trace.ts";
import { adminSql, checkAdminInput } from "./admin.ts";
import { STATE_DIR, sqlString, wrangler } from "./lib.ts";

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
const email = input.email.trim().toLowerCase();
await wrangler(["d1", "migrations", "apply", "users-db", ...target, "-c", "workers/users/wrangler.toml"], {
  quiet: true,
});

/** Runs SQL against users-db (local state or remote, as chosen); `--json` output when asked. */
function usersDb(sql: string, json = false): Promise<string> {
  const args = ["d1", "execute", "users-db", ...target, "-c", "workers/users/wrangler.toml"];
  return wrangler([...args, ...(json ? ["--json"] : []), "--command", sql], { quiet: true });
}

/** The account with this email as users-db has it now, if any. */
async function account(): Promise<{ id: string; role: string } | null> {
  const output = await usersDb(`SELECT id, role FROM users WHERE email = ${sqlString(email)}`, true);
  const [answer] = JSON.parse(output.slice(output.indexOf("["))) as { results: { id: string; role: string }[] }[];
  return answer?.results[0] ?? null;
}

const before = await account();
const trace = childTrace(undefined);
await usersDb(await adminSql(input, { promote: true, traceparent: formatTraceparent(trace) }));
const after = await account();
console.log(`admin ${email} is ready (${values.remote ? "on Cloudflare" : "locally"})`);

if (after?.role !== "admin") {
  console.error("admin:create: the account is not an admin after the change; nothing raised");
  process.exit(1);
} else if (before?.role === "admin") {
  console.log("it was an admin already: nothing changed, nothing goes to the audit trail");
} else {
  // The users relay publishes the event at its next wake: on Cloudflare within about a minute
  // (shop-alerts checks every service's health, which wakes it); locally when `npm run dev` runs.
  const when = values.remote ? "within about a minute" : "within about a minute of `npm run dev` running";
  console.log(
    `the audit trail records admin.create for ${after.id} ${when} (trace ${trace.traceId}; ` +
      `GET /api/admin/audit?action=admin.create&target=user:${after.id})`,
  );
}
