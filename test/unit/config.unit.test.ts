import { describe, expect, it } from "vitest";
import * as z from "zod";
import { faultsEnabled, flagVar, intVar, listVar, numberVar, readConfig, requiredVar } from "#shared/config";

/** The one config idiom: a zod object of the Worker's vars, built from the shared readers. */
const Schema = z.object({
  COUNT: intVar(1, { max: 10, fallback: 3 }),
  LIMIT: intVar(0),
  RATIO: numberVar(0, 1),
  ON: flagVar(),
  NAMES: listVar({ optional: true }),
  ORIGINS: listVar(),
  ISSUER: requiredVar(),
});

const good = { LIMIT: "0", RATIO: "0.5", ORIGINS: "a, b,,c ", ISSUER: "shop" };

describe("readConfig with the shared var readers", () => {
  it("reads integers, ratios, flags and lists; unset or empty integers take their fallback", () => {
    expect(readConfig(Schema, { ...good, COUNT: "", ON: "true" })).toEqual({
      COUNT: 3,
      LIMIT: 0,
      RATIO: 0.5,
      ON: true,
      NAMES: [],
      ORIGINS: ["a", "b", "c"],
      ISSUER: "shop",
    });
    expect(readConfig(Schema, { ...good, COUNT: " 7 ", ON: "yes" })).toMatchObject({ COUNT: 7, ON: false });
  });

  it.each([
    ["COUNT", "0"],
    ["COUNT", "11"],
    ["COUNT", "1.5"],
    ["COUNT", "ten"],
    ["LIMIT", undefined],
    ["LIMIT", "-1"],
    ["RATIO", "2"],
    ["ORIGINS", undefined],
    ["ISSUER", " "],
  ])("throws naming %s when it is %j", (name, value) => {
    expect(() => readConfig(Schema, { ...good, [name]: value })).toThrow(name);
  });

  it("names every bad var in one error", () => {
    expect(() => readConfig(Schema, { ...good, COUNT: "0", LIMIT: "x" })).toThrow(/COUNT.*LIMIT/);
  });

  it("reads FAULTS_ENABLED with the same readers", () => {
    expect(faultsEnabled({ FAULTS_ENABLED: "true" })).toBe(true);
    expect(faultsEnabled({})).toBe(false);
    expect(readConfig(Schema, good)).toMatchObject({ ON: false, COUNT: 3 });
  });
});
