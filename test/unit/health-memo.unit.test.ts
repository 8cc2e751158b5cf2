import { describe, expect, it } from "vitest";
import { memoise } from "../../workers/gateway/src/health/memo";

/** The per-isolate memo of GET /health (SPEC.md section 2), on a fake clock. */

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("memoise", () => {
  it("concurrent callers share one in-flight computation", async () => {
    let now = 0;
    const get = memoise<string>(1500, () => now);
    const pending = deferred<string>();
    let computed = 0;
    const compute = () => {
      computed += 1;
      return pending.promise;
    };
    const answers = Array.from({ length: 10 }, () => get(compute));
    now = 5000; // however long the computation takes, callers meanwhile join it
    answers.push(get(compute));
    pending.resolve("a");
    expect(await Promise.all(answers)).toEqual(Array(11).fill("a"));
    expect(computed).toBe(1);
  });

  it("serves the value for ttl ms after it was computed, then computes again", async () => {
    let now = 1000;
    const get = memoise<number>(1500, () => now);
    let computed = 0;
    const compute = async () => ++computed;
    expect(await get(compute)).toBe(1);
    now = 2499;
    expect(await get(compute)).toBe(1);
    now = 2500;
    expect(await get(compute)).toBe(2);
    expect(computed).toBe(2);
  });

  it("the ttl counts from the end of the computation, not its start", async () => {
    let now = 0;
    const get = memoise<string>(1500, () => now);
    const slow = deferred<string>();
    const first = get(() => slow.promise);
    now = 3000;
    slow.resolve("slow");
    await first;
    now = 4000;
    expect(await get(async () => "fresh")).toBe("slow");
  });

  it("does not keep a failure: the next caller computes again", async () => {
    const now = 0;
    const get = memoise<string>(1500, () => now);
    await expect(get(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await get(async () => "ok")).toBe("ok");
  });

  it("refuses a ttl that is not a positive number when made", () => {
    expect(() => memoise(0)).toThrow(/ttl/);
    expect(() => memoise(Number.NaN)).toThrow(/ttl/);
  });
});
