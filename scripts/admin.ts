/** Builds the SQL that creates (or promotes) an admin account in users-db. */
import { newId } from "../workers/shared/src/ids.ts";
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

/** Inserts the admin if the email is free, else makes the existing account an admin (password kept). */
export async function adminSql(input: AdminInput): Promise<string> {
  const email = input.email.trim().toLowerCase();
  const password = await hashPassword(input.password);
  const now = new Date().toISOString();
  return [
    `INSERT INTO users (id, email, name, phone, role, password_hash, password_salt, password_iterations, created_at, updated_at)`,
    `VALUES (${[
      newId("usr"),
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
      .join(", ")})`,
    `ON CONFLICT (email) DO UPDATE SET role = 'admin', updated_at = ${sqlString(now)};`,
  ].join(" ");
}
