/**
 * `npm run admin:create -- --email a@b.c [--name N] [--remote]`: makes an admin account in the
 * local users-db, or on Cloudflare with --remote. The password comes from ADMIN_PASSWORD, or is
 * asked for on the terminal; it is never a command-line argument (shell history, process lists).
 * Locally, a new or promoted admin is recorded in the audit trail (action `admin.create`, actor
 * `system:cli`) through shop-ops' real AuditLog (`audit-local.ts`).
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { childTrace, formatTraceparent } from "../workers/shared/src/trace.ts";
import { adminAuditInput, adminSql, checkAdminInput } from "./admin.ts";
import { withLocalOps } from "./audit-local.ts";
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
  console.error("admin:create: the account is not an admin after the change; nothing recorded");
  process.exit(1);
} else if (before?.role === "admin") {
  console.log("it was an admin already: nothing changed, nothing recorded in the audit trail");
} else if (values.remote) {
  // shop-ops has no route from outside Cloudflare, so a script cannot reach the deployed trail.
  console.warn("admin:create: --remote does not record the audit entry; note this change for the operators");
} else {
  const entry = await withLocalOps({ persistTo: STATE_DIR }, (ops) =>
    ops.audit(
      adminAuditInput({ id: after.id, email }, before, { requestId: crypto.randomUUID(), traceId: trace.traceId }),
    ),
  );
  if (!entry.ok) {
    console.error(`admin:create: the audit trail refused the entry: ${entry.code}: ${entry.detail}`);
    process.exit(1);
  }
  console.log(`recorded in the audit trail as entry ${entry.value.seq} (admin.create ${after.id})`);
}
