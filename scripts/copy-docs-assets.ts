/**
 * Puts the /docs page's assets into the gateway's static-assets folder: Swagger UI from the pinned
 * swagger-ui-dist package, and our own page and initialiser. Generated, so git-ignored.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { copyIfChanged, ROOT } from "./lib.ts";

export function copyDocsAssets(): void {
  const target = join(ROOT, "workers", "gateway", "public", "docs");
  mkdirSync(target, { recursive: true });
  const dist = join(ROOT, "node_modules", "swagger-ui-dist");
  for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
    copyIfChanged(join(dist, file), join(target, file));
  }
  for (const file of ["index.html", "init.js"]) {
    copyIfChanged(join(ROOT, "workers", "gateway", "docs", file), join(target, file));
  }
}

if (import.meta.main) copyDocsAssets();
