import { describe, expect, it } from "vitest";
import { newId } from "#shared/ids";
import {
  commitOutcome,
  linesKey,
  ReserveInputSchema,
  releaseOutcome,
  replayReserve,
  returnOutcome,
  type StoredState,
} from "../../workers/catalog/src/reservation-rules";

const ORDER = newId("ord");
const A = newId("prd");
const B = newId("prd");

const STATES: StoredState[] = ["reserved", "committed", "released", "returned", "failed", "abandoned"];

describe("reservation input", () => {
  it("accepts 1..50 lines of distinct products", () => {
    const lines = Array.from({ length: 50 }, () => ({ productId: newId("prd"), quantity: 1 }));
    expect(ReserveInputSchema.safeParse({ orderId: ORDER, lines }).success).toBe(true);
    expect(ReserveInputSchema.safeParse({ orderId: ORDER, lines: [] }).success).toBe(false);
    expect(
      ReserveInputSchema.safeParse({ orderId: ORDER, lines: [...lines, { productId: newId("prd"), quantity: 1 }] })
        .success,
    ).toBe(false);
  });

  it("refuses a product on two lines, naming the second line", () => {
    const parsed = ReserveInputSchema.safeParse({
      orderId: ORDER,
      lines: [
        { productId: A, quantity: 1 },
        { productId: B, quantity: 1 },
        { productId: A, quantity: 2 },
      ],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([["lines", 2, "productId"]]);
  });
});

describe("linesKey", () => {
  it("is the same whatever the order of the lines, and differs with any quantity", () => {
    const one = linesKey([
      { productId: A, quantity: 1 },
      { productId: B, quantity: 2 },
    ]);
    expect(
      linesKey([
        { productId: B, quantity: 2 },
        { productId: A, quantity: 1 },
      ]),
    ).toBe(one);
    expect(
      linesKey([
        { productId: A, quantity: 2 },
        { productId: B, quantity: 1 },
      ]),
    ).not.toBe(one);
    expect(linesKey([{ productId: A, quantity: 1 }])).not.toBe(one);
  });
});

describe("replaying a reservation", () => {
  const key = linesKey([{ productId: A, quantity: 1 }]);

  it.each(["reserved", "committed", "released", "returned"] as const)(
    "answers reserved again for a reservation that succeeded (now %s)",
    (state) => {
      expect(replayReserve(ORDER, { state, linesKey: key }, key)).toEqual({ ok: true, value: { state: "reserved" } });
    },
  );

  it("answers out_of_stock again for one that was short", () => {
    expect(replayReserve(ORDER, { state: "failed", linesKey: key }, key)).toMatchObject({ code: "out_of_stock" });
  });

  it("is a conflict with other lines, or after the order was released unreserved", () => {
    expect(replayReserve(ORDER, { state: "reserved", linesKey: key }, `${key},x`)).toMatchObject({ code: "conflict" });
    expect(replayReserve(ORDER, { state: "failed", linesKey: key }, `${key},x`)).toMatchObject({ code: "conflict" });
    expect(replayReserve(ORDER, { state: "abandoned", linesKey: null }, key)).toMatchObject({ code: "conflict" });
  });
});

describe("transition outcomes", () => {
  const answers = (outcome: (orderId: string, state: StoredState | null) => unknown) =>
    Object.fromEntries(
      [...STATES.filter((s) => s !== "reserved" && s !== "committed"), null].map((state) => {
        const result = outcome(ORDER, state) as { ok: boolean; code?: string; value?: { state: string } };
        return [String(state), result.ok ? result.value?.state : result.code];
      }),
    );

  it("commit: committed once committed (even if returned since), refused otherwise", () => {
    expect(commitOutcome(ORDER, "committed")).toEqual({ ok: true, value: { state: "committed" } });
    expect(answers(commitOutcome)).toEqual({
      released: "conflict",
      returned: "committed",
      failed: "conflict",
      abandoned: "conflict",
      null: "not_found",
    });
    expect(() => commitOutcome(ORDER, "reserved")).toThrow();
  });

  it("release: none when nothing was held, refused after a commit", () => {
    expect(answers(releaseOutcome)).toEqual({
      released: "released",
      returned: "conflict",
      failed: "none",
      abandoned: "none",
      null: "none",
    });
    expect(releaseOutcome(ORDER, "committed")).toMatchObject({ ok: false, code: "conflict" });
    expect(() => releaseOutcome(ORDER, "reserved")).toThrow();
  });

  it("returnToStock: only after a commit", () => {
    expect(returnOutcome(ORDER, "reserved")).toMatchObject({ ok: false, code: "conflict" });
    expect(answers(returnOutcome)).toEqual({
      released: "conflict",
      returned: "returned",
      failed: "conflict",
      abandoned: "conflict",
      null: "not_found",
    });
    expect(() => returnOutcome(ORDER, "committed")).toThrow();
  });
});
