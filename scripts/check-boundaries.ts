/**
 * `npm run check` step: a Worker never imports another Worker's code (STYLE.md). Each file under
 * `workers/<name>/` may import its own Worker, `workers/shared/`, `queues/` and `durable-objects/`;
 * code under `queues/`, `durable-objects/` and `workers/shared/` is shared and imports no Worker.
 * Shared code is imported by its package.json `imports` name (`#shared/*`, `#queues/*`, `#do/*`),
 * which is shared by definition; any other `#` name is refused, and a relative import is judged by
 * where it lands.
 * Tests and scripts are outside the rule. Pure `violations()` is tested with deliberate violations
 * (test/unit/boundaries.unit.test.ts); the CLI walks the tree.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The package.json `imports` names of shared code (the only `#` names there are). */
export const SHARED_NAMES = ["#shared/", "#queues/", "#do/"] as const;

/** Which area a repository path belongs to: a Worker's name, or one of the shared areas. */
function areaOf(path: string): string | null {
  const parts = path.split(/[\\/]/);
  if (parts[0] === "workers" && parts[1]) return parts[1] === "shared" ? "shared" : `worker:${parts[1]}`;
  if (parts[0] === "queues" || parts[0] === "durable-objects") return "shared";
  return null;
}

/** The violations in `files` (repository-relative path -> source text). */
export function violations(files: Record<string, string>): Violation[] {
  const found: Violation[] = [];
  for (const [file, source] of Object.entries(files)) {
    const from = areaOf(file);
    if (from === null) continue;
    for (const match of source.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? "";
      if (specifier.startsWith("#")) {
        if (!SHARED_NAMES.some((name) => specifier.startsWith(name))) {
          found.push({ file, specifier, reason: `no such import name (shared code is ${SHARED_NAMES.join("*, ")}*)` });
        }
        continue;
      }
      if (!specifier.startsWith(".")) continue;
      const target = relative(".", join(dirname(file), specifier))
        .split(sep)
        .join("/");
      const to = areaOf(target);
      if (to === null || to === "shared" || to === from) continue;
      found.push({
        file,
        specifier,
        reason:
          from === "shared"
            ? `shared code imports ${to.slice("worker:".length)}'s code`
            : `${from.slice("worker:".length)} imports ${to.slice("worker:".length)}'s code`,
      });
    }
  }
  return found;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

if (import.meta.main) {
  const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
  const files: Record<string, string> = {};
  for (const area of ["workers", "queues", "durable-objects"]) {
    for (const path of walk(join(root, area))) {
      files[relative(root, path).split(sep).join("/")] = readFileSync(path, "utf8");
    }
  }
  const found = violations(files);
  for (const v of found) console.error(`${v.file}: imports ${v.specifier}: ${v.reason}`);
  if (found.length > 0) {
    console.error(`${found.length} import(s) cross a Worker's boundary: move what is shared to workers/shared/.`);
    process.exit(1);
  }
  console.log(`boundaries ok: ${Object.keys(files).length} files, no Worker imports another Worker's code`);
}
