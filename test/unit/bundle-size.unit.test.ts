import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIMIT_KIB, sizeProblem } from "../../scripts/check-envs";

const dryRun = (kib: string) =>
  `Total Upload: 344.05 KiB / gzip: ${kib} KiB\nYour Worker has access to the following bindings:`;

describe("the bundle budget of npm run check (scripts/check-envs.ts)", () => {
  it("is 100 KiB gzipped per Worker", () => {
    expect(LIMIT_KIB).toBe(100);
  });

  it("passes a Worker at or under the budget", () => {
    expect(sizeProblem(dryRun("78.72"))).toBeNull();
    expect(sizeProblem(dryRun("100"))).toBeNull();
  });

  it("fails a Worker over the budget, saying by how much", () => {
    expect(sizeProblem(dryRun("100.01"))).toBe("100.01 KiB gzipped, above 100 KiB");
    expect(sizeProblem(dryRun("143.63"))).toBe("143.63 KiB gzipped, above 100 KiB");
  });

  it("fails a dry run that reports no size", () => {
    expect(sizeProblem("Total Upload: 344.05 KiB")).toBe("no size in the dry run's output");
  });
});

describe("the gateway's zod alias (wrangler.toml -> workers/gateway/src/zod-bundle.ts)", () => {
  const root = join(__dirname, "..", "..");
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
    );

  it("is safe: no gateway or shared code takes `z` from @hono/zod-openapi (the alias gives it ZodType only)", () => {
    const offenders = [...sources("workers/gateway/src"), ...sources("workers/shared/src")].filter((file) =>
      /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*"@hono\/zod-openapi"/.test(readFileSync(join(root, file), "utf8")),
    );
    expect(offenders).toEqual([]);
  });

  it("is in the gateway's config", () => {
    expect(readFileSync(join(root, "wrangler.toml"), "utf8")).toMatch(
      /\[alias\]\nzod = "\.\/workers\/gateway\/src\/zod-bundle\.ts"/,
    );
  });
});
