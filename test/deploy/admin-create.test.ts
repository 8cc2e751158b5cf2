import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adminAuditInput } from "../../scripts/admin";
import { withLocalOps } from "../../scripts/audit-local";

/**
 * `npm run admin:create` records the admin it made in the audit trail through the real path:
 * shop-ops' audit() RPC and its AuditLog object (built by a dry-run deploy, as the script does),
 * under Miniflare on a state folder laid out as `npm run dev` keeps it, so the entry joins that chain.
 */

const persistTo = mkdtempSync(join(tmpdir(), "edge-shop-admin-audit-"));
afterAll(() => rmSync(persistTo, { recursive: true, force: true }));

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const created = { id: "usr_01jd0000000000000000000001", email: "new-admin@example.com" };
const promoted = { id: "usr_01jd0000000000000000000002", email: "old-customer@example.com" };

describe("admin:create's audit entry", { timeout: 120_000 }, () => {
  it("is one entry per admin made, actor system:cli, action admin.create, target the user, in a chain that verifies", async () => {
    await withLocalOps({ persistTo }, async (ops) => {
      const first = await ops.audit(adminAuditInput(created, null, { requestId: "req-1", traceId: TRACE }));
      expect(first).toMatchObject({
        ok: true,
        value: {
          seq: 1,
          actor: { type: "system", id: "cli" },
          action: "admin.create",
          target: created.id,
          after: { email: created.email, role: "admin" },
          traceId: TRACE,
        },
      });
      expect(first.ok && "before" in first.value).toBe(false);
      const second = await ops.audit(
        adminAuditInput(promoted, { role: "customer" }, { requestId: "req-2", traceId: TRACE }),
      );
      expect(second).toMatchObject({ ok: true, value: { seq: 2, before: { role: "customer" } } });
      if (first.ok && second.ok) expect(second.value.prevHash).toBe(first.value.hash);
      // Malformed input is refused and writes nothing.
      const bad = await ops.audit({ ...adminAuditInput(created, null, { requestId: "req-3", traceId: "nope" }) });
      expect(bad).toMatchObject({ ok: false, code: "validation_failed" });
    });

    // Another run on the same folder (as the next script, or `npm run dev`, would) reads the same chain.
    await withLocalOps({ persistTo }, async (ops) => {
      const page = (await (await ops.fetchAsAdmin("/api/admin/audit?action=admin.create")).json()) as {
        items: { seq: number; target: string }[];
      };
      expect(page.items.map((e) => [e.seq, e.target])).toEqual([
        [2, promoted.id],
        [1, created.id],
      ]);
      expect(await (await ops.fetchAsAdmin("/api/admin/audit/verify")).json()).toEqual({ valid: true, checked: 2 });
    });
  });
});
