import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { parseEvent } from "#shared/contracts/events";
import { adminSql } from "../../scripts/admin";

/**
 * The admin seed (`npm run dev`) and `npm run admin:create` write users-db with plain SQL, so they
 * write the outbox row of their event themselves. Checked here against SQLite with the real
 * users migrations (D1 is SQLite): the event is valid, raised once, and only for a real change.
 */

const MIGRATIONS = join(import.meta.dirname, "..", "..", "d1", "users", "migrations");

function usersDb(): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const file of readdirSync(MIGRATIONS).sort()) db.exec(readFileSync(join(MIGRATIONS, file), "utf8"));
  return db;
}

function outbox(db: DatabaseSync) {
  return (
    db.prepare("SELECT type, subject, sequence, envelope FROM outbox ORDER BY sequence").all() as {
      type: string;
      subject: string;
      sequence: number;
      envelope: string;
    }[]
  ).map((row) => ({ ...row, event: parseEvent(JSON.parse(row.envelope)) }));
}

const admin = { email: "Admin@Example.com", password: "admin-dev-password", name: "Admin" };

describe("admin seed SQL", () => {
  it("creates the admin with one valid user.created, and a second run changes and raises nothing", async () => {
    const db = usersDb();
    db.exec(await adminSql(admin, { promote: false }));
    db.exec(await adminSql(admin, { promote: false }));
    const rows = outbox(db);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.event.ok, JSON.stringify(row?.event)).toBe(true);
    if (!row?.event.ok) return;
    const user = db.prepare("SELECT id, role FROM users WHERE email = 'admin@example.com'").get() as {
      id: string;
      role: string;
    };
    expect(row.event.event).toMatchObject({
      type: "user.created",
      source: "shop-users",
      subject: user.id,
      sequence: 1,
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      actor: { type: "system", id: "cli" },
      data: { userId: user.id, email: "admin@example.com", name: "Admin", phone: null, role: "admin" },
    });
    expect(db.prepare("SELECT last FROM event_sequences WHERE subject = ?").get(user.id)).toEqual({ last: 1 });
  });

  it("promoting an existing customer raises user.updated with the next sequence; promoting an admin raises nothing", async () => {
    const db = usersDb();
    db.exec(await adminSql(admin, { promote: false }));
    db.exec("UPDATE users SET role = 'customer'");
    db.exec(await adminSql(admin, { promote: true }));
    db.exec(await adminSql(admin, { promote: true }));
    const rows = outbox(db);
    expect(rows.map((r) => [r.type, r.sequence])).toEqual([
      ["user.created", 1],
      ["user.updated", 2],
    ]);
    const updated = rows[1]?.event;
    expect(updated?.ok && updated.event.data).toMatchObject({ role: "admin" });
    expect((db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n).toBe(1);
  });
});
