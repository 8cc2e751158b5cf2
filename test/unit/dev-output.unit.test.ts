import { describe, expect, it } from "vitest";
import { derivedConfigPath, relocateConfig, withVars } from "../../scripts/dev-configs";
import { createDumpFilter, firstRealError } from "../../scripts/dev-output";

const GOROUTINES = [
  "panic: send on closed channel",
  "",
  "goroutine 37 [running]:",
  "github.com/evanw/esbuild/internal/helpers.(*ThreadSafeWaitGroup).Done(...)",
  "\t/home/runner/work/esbuild/internal/helpers/waitgroup.go:36",
  "main.runService.func2()",
  "\t/home/runner/work/esbuild/cmd/esbuild/service.go:114 +0x59",
  "created by main.runService in goroutine 1",
].join("\n");

describe("firstRealError: the one line npm run dev shows when wrangler fails", () => {
  it("names a busy port plainly, wherever it appears, ahead of a goroutine dump", () => {
    const output = [
      "\u001b[33m▲ [WARNING]\u001b[0m Something harmless",
      "✘ [ERROR] Error: listen EADDRINUSE: address already in use 127.0.0.1:8788",
      "    at Server.setupListenHandle [as _listen2] (node:net:1908:16)",
      GOROUTINES,
    ].join("\n");
    expect(firstRealError(output)).toBe("address already in use: 127.0.0.1:8788");
    expect(firstRealError("Address already in use (os error 98)")).toBe("address already in use");
  });

  it("takes the first ✘ [ERROR] line (wrangler's and esbuild's marker), colours stripped", () => {
    const output = [
      "⛅️ wrangler 4.156.2",
      '\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mCould not resolve "./missing"\u001b[0m',
      "",
      "    workers/orders/src/index.ts:3:21:",
      '      3 │ import { x } from "./missing";',
      "✘ [ERROR] Build failed with 1 error:",
    ].join("\n");
    expect(firstRealError(output)).toBe('Could not resolve "./missing" (workers/orders/src/index.ts:3:21)');
  });

  it("gives esbuild's error with its location, not the 'Build failed' heading (as captured from wrangler dev)", () => {
    const output = [
      "[wrangler:info] Ready on http://127.0.0.1:8971",
      "\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mBuild failed with 1 error:\u001b[0m",
      "",
      '  \u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mCould not resolve "./does-not-exist"\u001b[0m',
      "  ",
      "      src/index.ts:75:7:",
      '  \u001b[37m      75 │ import \u001b[32m"./does-not-exist"\u001b[37m;',
      "           ╵        \u001b[32m~~~~~~~~~~~~~~~~~~\u001b[0m",
    ].join("\n");
    expect(firstRealError(output)).toBe('Could not resolve "./does-not-exist" (src/index.ts:75:7)');
    expect(firstRealError("✘ [ERROR] Build failed with 2 errors:")).toBe("Build failed with 2 errors:");
  });

  it("else the first line naming an error, skipping stack frames and the dump", () => {
    const output = [
      "Your Worker has access to the following bindings:",
      "    at Object.<anonymous> (file.js:1:1)",
      "TypeError: Cannot read properties of undefined (reading 'name')",
      GOROUTINES,
    ].join("\n");
    expect(firstRealError(output)).toBe("TypeError: Cannot read properties of undefined (reading 'name')");
  });

  it("falls back to the dump's own first line, and is undefined when nothing failed", () => {
    expect(firstRealError(`starting\n${GOROUTINES}`)).toBe("panic: send on closed channel");
    expect(firstRealError("⎔ Starting local server...\n[wrangler:info] Ready on http://127.0.0.1:8787")).toBe(
      undefined,
    );
  });
});

describe("createDumpFilter: live output without the goroutine dump", () => {
  it("passes lines through, holds back a dump and all after it, and waits for partial lines", () => {
    const filter = createDumpFilter();
    expect(filter("Ready on http://127.0.0.1:8787\n[wrangler:info] GET /health 200")).toBe(
      "Ready on http://127.0.0.1:8787\n",
    );
    expect(filter(" OK\n")).toBe("[wrangler:info] GET /health 200 OK\n");
    expect(filter(`✘ [ERROR] boom\n${GOROUTINES}\nmore\n`)).toBe("✘ [ERROR] boom\n");
    expect(filter("and after\n")).toBe("");
  });
});

describe("dev configs: a run's copy of a wrangler config", () => {
  const payments = [
    'name = "shop-payments"',
    'main = "src/index.ts"',
    "",
    "[vars]",
    'PSP_ENDPOINTS = "a=http://127.0.0.1:8788/a"',
    "",
    "[[d1_databases]]",
    'migrations_dir = "../../d1/payments/migrations"',
  ].join("\n");

  it("lives under .wrangler/dev-configs/<port>/, never beside the committed config", () => {
    expect(derivedConfigPath("workers/payments/wrangler.toml", 8960)).toBe(
      ".wrangler/dev-configs/8960/workers/payments/wrangler.toml",
    );
    expect(derivedConfigPath("wrangler.toml", 8960)).toBe(".wrangler/dev-configs/8960/root/wrangler.toml");
  });

  it("points every relative path at the same file from its new folder", () => {
    const moved = relocateConfig(payments, "workers/payments", ".wrangler/dev-configs/8960/workers/payments");
    expect(moved).toContain('main = "../../../../../workers/payments/src/index.ts"');
    expect(moved).toContain('migrations_dir = "../../../../../d1/payments/migrations"');
    const gateway = relocateConfig(
      'main = "workers/gateway/src/index.ts"\n[assets]\ndirectory = "workers/gateway/public"',
      ".",
      ".wrangler/dev-configs/8960/root",
    );
    expect(gateway).toBe(
      'main = "../../../../workers/gateway/src/index.ts"\n[assets]\ndirectory = "../../../../workers/gateway/public"',
    );
    expect(relocateConfig('main = "/abs/index.ts"', "a", "b")).toBe('main = "/abs/index.ts"');
  });

  it("sets this run's [vars], replacing or adding lines", () => {
    const text = withVars(payments, { PSP_ENDPOINTS: "a=http://127.0.0.1:8961/a", EXTRA: "1" });
    expect(text).toContain('PSP_ENDPOINTS = "a=http://127.0.0.1:8961/a"');
    expect(text).toContain('EXTRA = "1"');
    expect(text).not.toContain("8788");
    expect(withVars('name = "x"', { A: "b" })).toBe('name = "x"\n\n[vars]\nA = "b"');
  });
});
