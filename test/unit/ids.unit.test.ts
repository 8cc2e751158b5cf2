import { describe, expect, it } from "vitest";
import { ID_PREFIXES, isId, newId } from "#shared/ids";

const CROCKFORD = /^[0-9abcdefghjkmnpqrstvwxyz]+$/;

describe("newId", () => {
  it.each(ID_PREFIXES)("makes a %s_ id of 26 lowercase Crockford base32 characters", (prefix) => {
    const id = newId(prefix);
    expect(id.startsWith(`${prefix}_`)).toBe(true);
    const body = id.slice(prefix.length + 1);
    expect(body).toHaveLength(26);
    expect(body).toMatch(CROCKFORD);
    expect(isId(prefix, id)).toBe(true);
  });

  it("encodes the time in the first 10 characters like a ULID (lowercase)", () => {
    // The ULID specification's example: 1469918176385 ms encodes as 01ARYZ6S41.
    expect(newId("evt", 1_469_918_176_385).slice(4, 14)).toBe("01aryz6s41");
    expect(newId("usr", 0).slice(4, 14)).toBe("0000000000");
    expect(newId("usr", 31).slice(4, 14)).toBe("000000000z");
    expect(newId("usr", 32).slice(4, 14)).toBe("0000000010");
  });

  it("makes different ids in the same millisecond (80 random bits)", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId("ord", 1_700_000_000_000)));
    expect(ids.size).toBe(1000);
  });

  it("sorts ids made at increasing times increasingly as strings", () => {
    const times = [0, 1, 31, 32, 33, 1023, 1024, 1_469_918_176_385, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1];
    for (let seed = 1, t = 1_600_000_000_000; seed < 200; seed++) {
      t += (seed * 7919) % 100_000;
      times.push(t);
    }
    times.sort((a, b) => a - b);
    const ids = times.map((t) => newId("prd", t));
    expect([...ids].sort()).toEqual(ids);
    for (let i = 1; i < ids.length; i++) expect((ids[i - 1] as string) < (ids[i] as string)).toBe(true);
  });
});

describe("isId", () => {
  const valid = "usr_01m875rg4c56rja44hr7x250pq";

  it("accepts a well-formed id with the right prefix", () => {
    expect(isId("usr", valid)).toBe(true);
  });

  it.each([
    { why: "another prefix", prefix: "prd" as const, value: valid },
    { why: "no underscore", prefix: "usr" as const, value: "usr01m875rg4c56rja44hr7x250pq" },
    { why: "25 characters", prefix: "usr" as const, value: valid.slice(0, -1) },
    { why: "27 characters", prefix: "usr" as const, value: `${valid}0` },
    { why: "uppercase", prefix: "usr" as const, value: valid.toUpperCase().replace("USR", "usr") },
    { why: "the excluded letter i", prefix: "usr" as const, value: "usr_01m875rg4c56rja44hr7x250pi" },
    { why: "the excluded letter l", prefix: "usr" as const, value: "usr_01m875rg4c56rja44hr7x250pl" },
    { why: "the excluded letter o", prefix: "usr" as const, value: "usr_01m875rg4c56rja44hr7x250po" },
    { why: "the excluded letter u", prefix: "usr" as const, value: "usr_01m875rg4c56rja44hr7x250pu" },
    { why: "a leading space", prefix: "usr" as const, value: ` ${valid}` },
    { why: "a trailing newline", prefix: "usr" as const, value: `${valid}\n` },
    { why: "an empty string", prefix: "usr" as const, value: "" },
  ])("refuses an id with $why", ({ prefix, value }) => {
    expect(isId(prefix, value)).toBe(false);
  });
});
