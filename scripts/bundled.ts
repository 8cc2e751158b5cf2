/**
 * Imports TypeScript the Workers share (extensionless imports, path names) into Node: esbuild
 * (pinned through wrangler) bundles `source` into a temporary module, which is imported and
 * deleted. Used by the checks that read the gateway's OpenAPI document and the zod contracts.
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ROOT } from "./lib.ts";

let count = 0;

export async function importBundled<T>(source: string): Promise<T> {
  const entry = join(tmpdir(), `edge-shop-bundled-${process.pid}-${count++}.mjs`);
  await build({
    stdin: { contents: source, resolveDir: ROOT, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: entry,
    logLevel: "warning",
  });
  try {
    return (await import(pathToFileURL(entry).href)) as T;
  } finally {
    await rm(entry, { force: true });
  }
}

/** The OpenAPI document the gateway serves at GET /openapi.json, as JSON. */
export async function publishedDocument<T = Record<string, unknown>>(): Promise<T> {
  const bundle = await importBundled<{ default: unknown }>(`import { createGateway } from "./workers/gateway/src/app";
import { openApiDocument } from "./workers/gateway/src/routes/openapi";
export default openApiDocument(createGateway());`);
  return JSON.parse(JSON.stringify(bundle.default));
}
