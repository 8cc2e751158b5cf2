/**
 * Puts everything the gateway serves from its static assets into `workers/gateway/public/`
 * (git-ignored, generated): the /docs page (Swagger UI, copied) and the /admin operations console
 * (bundled from `workers/gateway/console/` by esbuild). `npm run dev`, the tests' build, the browser
 * checks and `npm run deploy` call it, so the assets are never stale. Files are written only when
 * their content changes, so a second `npm run dev` or `npm run smoke` does not reload a running one.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { copyDocsAssets } from "./copy-docs-assets.ts";
import { copyIfChanged, ROOT, writeIfChanged } from "./lib.ts";

export function buildConsoleAssets(): void {
  const source = join(ROOT, "workers", "gateway", "console");
  const target = join(ROOT, "workers", "gateway", "public", "admin");
  mkdirSync(target, { recursive: true });
  const built = buildSync({
    entryPoints: [join(source, "src", "main.ts")],
    outfile: join(target, "console.js"),
    write: false,
    bundle: true,
    format: "iife",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
  for (const file of built.outputFiles) writeIfChanged(file.path, file.contents);
  for (const file of ["index.html", "console.css"]) copyIfChanged(join(source, file), join(target, file));
}

export function buildGatewayAssets(): void {
  copyDocsAssets();
  buildConsoleAssets();
}

if (import.meta.main) buildGatewayAssets();
