import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuditLog } from "#do/audit-log/audit-log";
import { GENESIS_HASH } from "#do/audit-log/chain";
import type { AuditInput } from "#shared/contracts/ops";

/** A chain no other test uses (the Worker itself uses the one named "trail"). */
const freshTrail = () => env.AUDIT_LOG.getByName(`trail-${crypto.randomUUID()}`);
const traceId = () => crypto.randomUUID().replaceAll("-", "");

function input(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    actor: { type: "admin", id: "usr_01m875rg4c56rja44hr7x250pq" },
    action: "product.restock",
    target: "product:prd_01m875rg4c56rja44hr7x250pq",
    before: { available: 3 },
    after: { available: 8 },
    requestId: crypto.randomUUID(),
    traceId: traceId(),
    ...overrides,
  };
}

describe("AuditLog: the chain", () => {
  it("numbers entries from 1, each holding the hash of the one before, the first linked to the genesis hash", async () => {
    const trail = freshTrail();
    const first = await trail.append(input());
    const second = await trail.append(
      input({ action: "user.role.set", target: "user:usr_x", before: { role: "customer" }, after: { role: "admin" } }),
    );
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({
      seq: 2,
      prevHash: first.hash,
      before: { role: "customer" },
      after: { role: "admin" },
    });
    expect(await trail.verify()).toEqual({ valid: true, checked: 2 });
  });

  it("records an action once: the same request id, action and target again returns the first entry", async () => {
    const trail = freshTrail();
    const action = input();
    const first = await trail.append(action);
    const again = await trail.append(action);
    expect(again).toEqual(first);
    expect((await trail.list({ limit: 20 })).items).toHaveLength(1);
  });

  it("30 concurrent appends give 30 entries numbered 1..30 in one valid chain", async () => {
    const trail = freshTrail();
    const entries = await Promise.all(Array.from({ length: 30 }, () => trail.append(input())));
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.prevHash)).size).toBe(30);
    expect(await trail.verify()).toEqual({ valid: true, checked: 30 });
  });

  it("detects an edited entry: verify names it", async () => {
    const trail = freshTrail();
    for (let i = 0; i < 5; i++) await trail.append(input());
    await runInDurableObject(trail, (_instance: AuditLog, state) => {
      state.storage.sql.exec(`UPDATE audit SET after = '{"available":999}' WHERE seq = 3`);
    });
    expect(await trail.verify()).toEqual({ valid: false, checked: 3, firstBadSeq: 3 });
  });

  it("detects an edited entry whose hash was recomputed: the next entry no longer links to it", async () => {
    const trail = freshTrail();
    for (let i = 0; i < 4; i++) await trail.append(input());
    await runInDurableObject(trail, (_instance: AuditLog, state) => {
      state.storage.sql.exec(`UPDATE audit SET hash = '${"f".repeat(64)}' WHERE seq = 2`);
    });
    const result = await trail.verify();
    expect(result.valid).toBe(false);
    expect(result.firstBadSeq).toBe(2);
  });

  it("detects a deleted entry: the gap is the first bad one", async () => {
    const trail = freshTrail();
    for (let i = 0; i < 5; i++) await trail.append(input());
    await runInDurableObject(trail, (_instance: AuditLog, state) => {
      state.storage.sql.exec("DELETE FROM audit WHERE seq = 4");
    });
    expect(await trail.verify()).toMatchObject({ valid: false, firstBadSeq: 5 });
  });

  it("retention removes entries older than the retention days; the rest still verifies from the anchor", async () => {
    const trail = freshTrail();
    const kept: number[] = [];
    for (let i = 0; i < 5; i++) kept.push((await trail.append(input())).seq);
    const old = new Date(Date.now() - 401 * 86_400_000).toISOString();
    await runInDurableObject(trail, (_instance: AuditLog, state) => {
      state.storage.sql.exec("UPDATE audit SET at = ? WHERE seq <= 3", old);
    });
    expect(await runDurableObjectAlarm(trail)).toBe(true);
    const page = await trail.list({ limit: 20 });
    expect(page.items.map((e) => e.seq)).toEqual([5, 4]);
    expect(await trail.verify()).toEqual({ valid: true, checked: 2 });
    const next = await trail.append(input());
    expect(next.seq).toBe(6);
    expect(await trail.verify()).toEqual({ valid: true, checked: 3 });
  });
});

describe("AuditLog: listing", () => {
  it("lists newest first, filters by actor, action, target and time, and pages by seq", async () => {
    const trail = freshTrail();
    const alice = "usr_01m875rg4c56rja44hr7x250aa";
    const bob = "usr_01m875rg4c56rja44hr7x250bb";
    const start = new Date().toISOString();
    for (let i = 0; i < 3; i++) await trail.append(input({ actor: { type: "admin", id: alice } }));
    await trail.append(input({ actor: { type: "admin", id: bob }, action: "user.role.set", target: "user:usr_z" }));
    await trail.append(input({ actor: { type: "admin", id: bob }, action: "faults.set", target: "faults" }));

    const all = await trail.list({ limit: 20 });
    expect(all.items.map((e) => e.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(all.nextCursor).toBeNull();
    expect((await trail.list({ limit: 20, actor: bob })).items.map((e) => e.seq)).toEqual([5, 4]);
    expect((await trail.list({ limit: 20, action: "user.role.set" })).items.map((e) => e.target)).toEqual([
      "user:usr_z",
    ]);
    expect((await trail.list({ limit: 20, target: "faults" })).items.map((e) => e.seq)).toEqual([5]);
    expect((await trail.list({ limit: 20, from: start })).items).toHaveLength(5);
    expect((await trail.list({ limit: 20, to: start })).items).toHaveLength(0);

    const first = await trail.list({ limit: 2 });
    expect(first.items.map((e) => e.seq)).toEqual([5, 4]);
    const second = await trail.list({ limit: 2, cursor: first.nextCursor ?? undefined });
    expect(second.items.map((e) => e.seq)).toEqual([3, 2]);
    const third = await trail.list({ limit: 2, cursor: second.nextCursor ?? undefined });
    expect(third.items.map((e) => e.seq)).toEqual([1]);
    expect(third.nextCursor).toBeNull();
  });
});

describe("shop-ops RPC", () => {
  it("refuses a malformed audit input with a validation result, writing nothing", async () => {
    const result = await exports.default.audit({ ...input(), action: "user.delete" });
    expect(result).toMatchObject({ ok: false, code: "validation_failed" });
  });

  it("appends to the one trail and verifies it", async () => {
    const result = await exports.default.audit(input({ action: "admin.create", target: "user:usr_new" }));
    expect(result).toMatchObject({ ok: true, value: { action: "admin.create" } });
    expect(await env.AUDIT_LOG.getByName("trail").verify()).toMatchObject({ valid: true });
  });
});
