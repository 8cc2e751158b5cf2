/** Builds the SQL that creates (or promotes) an admin account in users-db, with its event. */
import { CLI_ACTOR } from "../workers/shared/src/cli.ts";
import { newId } from "../workers/shared/src/ids.ts";
import { childTrace, formatTraceparent } from "../workers/shared/src/trace.ts";
import { hashPassword } from "../workers/users/src/passwords.ts";
import { sqlString } from "./lib.ts";

export interface AdminInput {
  email: string;
  password: string;
  name: string;
}

export function checkAdminInput(input: AdminInput): string | undefined {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email)) return "the email is not valid";
  if (input.password.length < 12 || input.password.length > 128) return "the password must be 12..128 characters";
  if (!input.name.trim()) return "the name is empty";
  return undefined;
}

/**
 * The outbox row of a user event, written by plain SQL in the same script as the change (as the
 * service's `Outbox.stage` would): the envelope and the subject's next sequence are computed from
 * the user's row, selected by `where`; nothing is written when no row matches. A script is the
 * system acting: the actor is `system:cli`, by which shop-ops records an admin's event in the audit
 * trail (`workers/ops/src/audit-events.ts`).
 */
function userEventSql(
  type: "user.created" | "user.updated",
  where: string,
  occurredAt: string,
  traceparent: string,
): string {
  const id = sqlString(newId("evt"));
  const next = "COALESCE((SELECT last FROM event_sequences WHERE subject = u.id), 0) + 1";
  return [
    `INSERT INTO outbox (id, type, subject, sequence, envelope, created_at)`,
    `SELECT ${id}, '${type}', u.id, ${next}, json_object('id', ${id}, 'type', '${type}', 'version', 1,`,
    `'occurredAt', ${sqlString(occurredAt)}, 'source', 'shop-users', 'subject', u.id, 'sequence', ${next},`,
    `'traceparent', ${sqlString(traceparent)}, 'actor', json_object('type', ${sqlString(CLI_ACTOR.type)}, 'id', ${sqlString(CLI_ACTOR.id)}),`,
    `'data', json_object('userId', u.id, 'email', u.email, 'name', u.name, 'phone', u.phone,`,
    `'role', u.role)), ${Date.parse(occurredAt)} FROM users u WHERE ${where};`,
    `INSERT INTO event_sequences (subject, last) SELECT subject, sequence FROM outbox WHERE id = ${id}`,
    `ON CONFLICT (subject) DO UPDATE SET last = max(last, excluded.last);`,
  ].join(" ");
}

/**
 * Inserts the admin if the email is free (raising user.created); with `promote`, an existing
 * account becomes an admin instead, its password kept (raising user.updated). Without `promote`
 * an existing account is left alone and nothing is raised.
 */
export async function adminSql(
  input: AdminInput,
  options: { promote: boolean; traceparent?: string } = { promote: true },
): Promise<string> {
  const email = input.email.trim().toLowerCase();
  const password = await hashPassword(input.password);
  const now = new Date().toISOString();
  const userId = newId("usr");
  // The script run is the cause of its events: one new trace for all of them (and its audit entry).
  const traceparent = options.traceparent ?? formatTraceparent(childTrace(undefined));
  const values = [
    userId,
    email,
    input.name.trim(),
    null,
    "admin",
    password.hash,
    password.salt,
    String(password.iterations),
    now,
    now,
  ]
    .map((v, i) => (i === 7 ? v : sqlString(v)))
    .join(", ");
  const statements = [
    `INSERT INTO users (id, email, name, phone, role, password_hash, password_salt, password_iterations, created_at, updated_at)`,
    `VALUES (${values})`,
    options.promote
      ? `ON CONFLICT (email) DO UPDATE SET role = 'admin', updated_at = ${sqlString(now)} WHERE role <> 'admin';`
      : "ON CONFLICT (email) DO NOTHING;",
    // Created: the row has the id just minted. Promoted: another row with this email changed now.
    userEventSql("user.created", `u.id = ${sqlString(userId)}`, now, traceparent),
  ];
  if (options.promote) {
    statements.push(
      userEventSql(
        "user.updated",
        `u.email = ${sqlString(email)} AND u.id <> ${sqlString(userId)} AND u.updated_at = ${sqlString(now)}`,
        now,
        traceparent,
      ),
    );
  }
  return statements.join(" ");
}
