import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, wrangler } from "../../scripts/lib";

/**
 * `npm run admin:create` run as an operator runs it, locally, with the real wrangler against a
 * state folder of its own (DEV_STATE_DIR): the account in users-db, and its event in users-db's
 * outbox with the actor system:cli, from which shop-ops records `admin.create` in the audit trail
 * (that part: test/ops/audit-events.integration.test.ts and test/system/ops.integration.test.ts).
 * `--remote` runs the same SQL against the deployed database; no account is reachable here.
 */

const stateRoot = mkdtempSync(join(tmpdir(), "edge-shop-admin-create-"));
afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

function adminCreate(args: string[], password: string) {
  const result = spawnSync(process.execPath, [join(ROOT, "scripts/admin-create.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DEV_STATE_DIR: stateRoot, ADMIN_PASSWORD: password },
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function usersDb<T>(sql: string): Promise<T[]> {
  const output = await wrangler(
    [
      "d1",
      "execute",
      "users-db",
      "--local",
      "--persist-to",
      join(stateRoot, "state"),
      "-c",
      "workers/users/wrangler.toml",
      "--json",
      "--command",
      sql,
    ],
    { quiet: true },
  );
  return (JSON.parse(output.slice(output.indexOf("["))) as { results: T[] }[])[0]?.results ?? [];
}

describe("npm run admin:create", { timeout: 120_000 }, () => {
  it("makes an admin and raises its user.created as system:cli, once; a second run changes nothing", async () => {
    const first = adminCreate(["--email", "Ops@Example.com", "--name", "Ops"], "a-long-enough-password");
    expect(first.status, first.output).toBe(0);
    const [user] = await usersDb<{ id: string; role: string }>(
      "SELECT id, role FROM users WHERE email = 'ops@example.com'",
    );
    expect(user?.role).toBe("admin");
    expect(first.output).toContain(`the audit trail records admin.create for ${user?.id}`);

    const again = adminCreate(["--email", "ops@example.com"], "another-long-password");
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("it was an admin already");

    const outbox = await usersDb<{ type: string; envelope: string }>("SELECT type, envelope FROM outbox");
    expect(outbox.map((row) => row.type)).toEqual(["user.created"]);
    expect(JSON.parse(outbox[0]?.envelope ?? "{}")).toMatchObject({
      source: "shop-users",
      subject: user?.id,
      actor: { type: "system", id: "cli" },
      data: { userId: user?.id, email: "ops@example.com", role: "admin" },
    });
  });

  it("refuses a short password or a bad email, writing nothing", async () => {
    const short = adminCreate(["--email", "short@example.com"], "too-short");
    expect(short.status).toBe(2);
    expect(short.output).toContain("the password must be 12..128 characters");
    const bad = adminCreate(["--email", "not-an-email"], "a-long-enough-password");
    expect(bad.status).toBe(2);
    expect(await usersDb("SELECT id FROM users WHERE email IN ('short@example.com', 'not-an-email')")).toEqual([]);
  });
});
