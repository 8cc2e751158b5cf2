/**
 * The per-run copies of wrangler configs that `npm run dev -- --var ...` (and a simulator off its
 * default port) needs, as pure text functions (unit-tested). The copies live under
 * `.wrangler/dev-configs/<port>/` (git-ignored, removed on exit), never among the committed
 * configs and sources, so a run killed before its cleanup leaves nothing there. (What made a
 * running dev reload beside a second one was the rewrite of the gateway's assets, not these
 * copies: checked by adding a file beside workers/payments/wrangler.toml under a running dev,
 * which did not reload it; see gateway-assets.ts.)
 */
import { posix } from "node:path";

/** Sets `vars` in the [vars] table of a wrangler.toml text (replacing or adding each line). */
export function withVars(toml: string, vars: Record<string, string>): string {
  const lines = toml.split("\n");
  let start = lines.findIndex((line) => line.trim() === "[vars]");
  if (start < 0) {
    lines.push("", "[vars]");
    start = lines.length - 1;
  }
  let end = lines.findIndex((line, i) => i > start && line.trim().startsWith("["));
  if (end < 0) end = lines.length;
  for (const [name, value] of Object.entries(vars)) {
    const at = lines.findIndex((line, i) => i > start && i < end && new RegExp(`^${name}\\s*=`).test(line));
    const line = `${name} = ${JSON.stringify(value)}`;
    if (at >= 0) lines[at] = line;
    else {
      lines.splice(start + 1, 0, line);
      end++;
    }
  }
  return lines.join("\n");
}

/** The keys of a wrangler config that hold a path relative to the config's folder. */
const PATH_KEYS = ["main", "directory", "migrations_dir"];

/**
 * A wrangler.toml text moved from folder `from` to folder `to` (both relative to the repository,
 * POSIX separators): every relative path it holds (`main`, `[assets] directory`, `migrations_dir`)
 * is rewritten to point at the same file from the new folder.
 */
export function relocateConfig(toml: string, from: string, to: string): string {
  const pattern = new RegExp(`^(\\s*(?:${PATH_KEYS.join("|")})\\s*=\\s*)"([^"]*)"`);
  return toml
    .split("\n")
    .map((line) => {
      const match = pattern.exec(line);
      if (!match || posix.isAbsolute(match[2] as string)) return line;
      const target = posix.relative(to, posix.join(from, match[2] as string)) || ".";
      return line.replace(pattern, `$1${JSON.stringify(target)}`);
    })
    .join("\n");
}

/** Where this run's copy of a Worker's config goes: `.wrangler/dev-configs/<port>/<its folder>/`. */
export function derivedConfigPath(config: string, port: number): string {
  const folder = posix.dirname(config);
  return posix.join(".wrangler", "dev-configs", String(port), folder === "." ? "root" : folder, "wrangler.toml");
}
