import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CircuitBreaker } from "#do/circuit-breaker/circuit-breaker";
import { freshBreaker, OPEN_MS, openAndWait, openIt, PROBE_LEASE_MS, sleep, THRESHOLD } from "./helpers";

describe("CircuitBreaker: closed", () => {
  it("starts closed and admits every call", async () => {
    const { name, stub } = freshBreaker();
    const before = Date.now();
    expect(await stub.acquire()).toEqual({ allowed: true, state: "closed" });
    const snapshot = await stub.snapshot();
    expect(snapshot).toEqual({ name, state: "closed", failures: 0, lastTransitionAt: expect.any(String) });
    expect(Date.parse(snapshot.lastTransitionAt)).toBeGreaterThanOrEqual(before - 5);
  });

  it("opens on the 5th consecutive transient failure, not before", async () => {
    const { stub } = freshBreaker();
    for (let i = 1; i < THRESHOLD; i++) {
      const after = await stub.record("failure");
      expect(after).toMatchObject({ state: "closed", failures: i });
      expect((await stub.acquire()).allowed).toBe(true);
    }
    const opened = await stub.record("failure");
    expect(opened).toMatchObject({ state: "open", failures: THRESHOLD });
    expect(opened.openedAt).toBeDefined();
    expect(opened.lastTransitionAt).toBe(opened.openedAt);
    const refused = await stub.acquire();
    expect(refused).toMatchObject({ allowed: false, state: "open" });
    expect(refused.retryInMs).toBeGreaterThan(0);
    expect(refused.retryInMs).toBeLessThanOrEqual(OPEN_MS);
    expect(refused.probe).toBeUndefined();
  });

  it("counts only consecutive failures: a success resets the count", async () => {
    const { stub } = freshBreaker();
    for (let i = 0; i < THRESHOLD - 1; i++) await stub.record("failure");
    expect(await stub.record("success")).toMatchObject({ state: "closed", failures: 0 });
    for (let i = 0; i < THRESHOLD - 1; i++) await stub.record("failure");
    expect(await stub.snapshot()).toMatchObject({ state: "closed", failures: THRESHOLD - 1 });
  });

  it("rejects a malformed record instead of guessing", async () => {
    const { stub } = freshBreaker();
    const thrown = (call: () => Promise<unknown>) =>
      call().then(
        () => null,
        (error: unknown) => error,
      );
    expect(String(await thrown(() => stub.record("maybe" as never)))).toMatch(/record: bad arguments/);
    expect(String(await thrown(() => stub.record("success", "")))).toMatch(/record: bad arguments/);
    expect(await stub.snapshot()).toMatchObject({ state: "closed", failures: 0 });
  });
});

describe("CircuitBreaker: open and half-open", () => {
  it("refuses until openMs has passed, then hands exactly one of 25 concurrent callers the probe", async () => {
    const { stub } = freshBreaker();
    await openIt(stub);
    const early = await Promise.all(Array.from({ length: 25 }, () => stub.acquire()));
    expect(early.filter((a) => a.allowed)).toHaveLength(0);
    await sleep(OPEN_MS + 30);

    const admissions = await Promise.all(Array.from({ length: 25 }, () => stub.acquire()));

    const probes = admissions.filter((a) => a.allowed);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ state: "half_open", probe: expect.any(String) });
    for (const refused of admissions.filter((a) => !a.allowed)) {
      expect(refused.state).toBe("half_open");
      expect(refused.retryInMs).toBeGreaterThan(0);
      expect(refused.retryInMs).toBeLessThanOrEqual(PROBE_LEASE_MS);
    }
    const snapshot = await stub.snapshot();
    expect(snapshot.state).toBe("half_open");
    expect(Date.parse(snapshot.lastTransitionAt)).toBeGreaterThan(Date.parse(snapshot.openedAt ?? ""));
  });

  it("closes when the probe succeeds", async () => {
    const { stub } = freshBreaker();
    await openAndWait(stub);
    const probe = await stub.acquire();
    expect(probe.allowed).toBe(true);

    const closed = await stub.record("success", probe.probe);

    expect(closed).toMatchObject({ state: "closed", failures: 0 });
    expect(closed.openedAt).toBeUndefined();
    expect(await stub.acquire()).toEqual({ allowed: true, state: "closed" });
  });

  it("reopens for another openMs when the probe fails", async () => {
    const { stub } = freshBreaker();
    await openAndWait(stub);
    const firstOpen = (await stub.snapshot()).openedAt;
    const probe = await stub.acquire();

    const reopened = await stub.record("failure", probe.probe);

    expect(reopened).toMatchObject({ state: "open", failures: THRESHOLD + 1 });
    expect(Date.parse(reopened.openedAt ?? "")).toBeGreaterThan(Date.parse(firstOpen ?? ""));
    const refused = await stub.acquire();
    expect(refused).toMatchObject({ allowed: false, state: "open" });
    expect(refused.retryInMs).toBeGreaterThan(OPEN_MS / 2);
  });

  it("releases a probe whose caller vanished once its lease expires", async () => {
    const { stub } = freshBreaker();
    await openAndWait(stub);
    const lost = await stub.acquire();
    expect(lost.allowed).toBe(true);
    expect((await stub.acquire()).allowed).toBe(false);
    await sleep(PROBE_LEASE_MS + 30);

    const next = await Promise.all(Array.from({ length: 10 }, () => stub.acquire()));

    const probes = next.filter((a) => a.allowed);
    expect(probes).toHaveLength(1);
    expect(probes[0]?.probe).not.toBe(lost.probe);
    // The vanished caller reports at last: its answer is stale and changes nothing.
    expect(await stub.record("success", lost.probe)).toMatchObject({ state: "half_open" });
    expect(await stub.record("failure", lost.probe)).toMatchObject({ state: "half_open" });
    expect(await stub.record("success", probes[0]?.probe)).toMatchObject({ state: "closed" });
  });

  it("ignores unknown probe ids and ordinary calls' late answers while half-open", async () => {
    const { stub } = freshBreaker();
    await openAndWait(stub);
    const probe = await stub.acquire();

    // Callers admitted before the breaker opened report now; a forged id comes in too.
    expect(await stub.record("success")).toMatchObject({ state: "half_open" });
    expect(await stub.record("failure")).toMatchObject({ state: "half_open" });
    expect(await stub.record("success", crypto.randomUUID())).toMatchObject({ state: "half_open" });
    expect((await stub.acquire()).allowed).toBe(false);

    expect(await stub.record("success", probe.probe)).toMatchObject({ state: "closed" });
    // The probe reporting twice cannot reopen the breaker it closed.
    expect(await stub.record("failure", probe.probe)).toMatchObject({ state: "closed", failures: 0 });
  });

  it("ignores ordinary calls' answers while open", async () => {
    const { stub } = freshBreaker();
    await openIt(stub);
    const opened = await stub.snapshot();
    expect(await stub.record("success")).toEqual(opened);
    expect(await stub.record("failure")).toEqual(opened);
  });
});

describe("CircuitBreaker: storage", () => {
  it("knows its name from getByName, also after eviction", async () => {
    const { name, stub } = freshBreaker("psp:x");
    expect(await runInDurableObject(stub, (_instance: CircuitBreaker, state) => state.id.name)).toBe(name);
    expect((await stub.snapshot()).name).toBe(name);
    await evictDurableObject(stub);
    expect((await stub.snapshot()).name).toBe(name);
  });

  it("keeps an open breaker open across eviction", async () => {
    const { stub } = freshBreaker();
    await openIt(stub);
    const before = await stub.snapshot();

    await evictDurableObject(stub);

    expect(await stub.snapshot()).toEqual(before);
    expect((await stub.acquire()).allowed).toBe(false);
  });

  it("keeps an outstanding probe's lease across eviction", async () => {
    const { stub } = freshBreaker();
    await openAndWait(stub);
    const probe = await stub.acquire();
    expect(probe.allowed).toBe(true);

    await evictDurableObject(stub);

    expect((await stub.acquire()).allowed).toBe(false);
    expect(await stub.record("success", probe.probe)).toMatchObject({ state: "closed" });
  });

  it("holds its whole state in one SQLite row", async () => {
    const { stub } = freshBreaker();
    await stub.record("failure");
    for (let i = 0; i < 5; i++) await stub.acquire();
    const rows = await runInDurableObject(stub, (_instance: CircuitBreaker, state) =>
      state.storage.sql.exec("SELECT state, failures, opened_at, probe_id FROM breaker").toArray(),
    );
    expect(rows).toEqual([{ state: "closed", failures: 1, opened_at: null, probe_id: null }]);
  });
});
