import { describe, expect, it } from "vitest";
import { newId } from "#shared/ids";
import { decodeCursor, encodeCursor, ProductListQuerySchema } from "../../workers/catalog/src/cursor";

describe("the product list cursor", () => {
  it("round-trips a position and is URL-safe", () => {
    for (let i = 0; i < 200; i++) {
      const position = { createdAt: new Date(1_700_000_000_000 + i * 7_919_113).toISOString(), id: newId("prd") };
      const cursor = encodeCursor(position);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toEqual(position);
    }
  });

  it.each([
    ["garbage", "%%%"],
    ["not base64 of JSON", btoa("hello")],
    ["an object", btoa(JSON.stringify({ createdAt: "2026-11-01T00:00:00.000Z", id: newId("prd") }))],
    ["a foreign id", btoa(JSON.stringify(["2026-11-01T00:00:00.000Z", newId("usr")]))],
    ["a bad date", btoa(JSON.stringify(["yesterday", newId("prd")]))],
    ["an extra element", btoa(JSON.stringify(["2026-11-01T00:00:00.000Z", newId("prd"), 1]))],
  ])("refuses %s", (_label, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

describe("the product list query", () => {
  it("clamps limit to 1..100 and defaults it to 20", () => {
    expect(ProductListQuerySchema.parse({}).limit).toBe(20);
    expect(ProductListQuerySchema.parse({ limit: "0" }).limit).toBe(1);
    expect(ProductListQuerySchema.parse({ limit: "1000" }).limit).toBe(100);
    expect(ProductListQuerySchema.parse({ limit: "junk" }).limit).toBe(20);
  });

  it("decodes a cursor, and names the cursor field when it is not one", () => {
    const position = { createdAt: "2026-11-01T09:00:00.000Z", id: newId("prd") };
    expect(ProductListQuerySchema.parse({ cursor: encodeCursor(position) }).cursor).toEqual(position);
    expect(ProductListQuerySchema.parse({ cursor: "" }).cursor).toBeUndefined();

    const parsed = ProductListQuerySchema.safeParse({ cursor: "nope" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([["cursor"]]);
  });
});
