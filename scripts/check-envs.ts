/**
 * Part of `npm run check`: builds every Worker of every environment exactly as a deploy would
 * (`wrangler deploy --dry-run`), then fails when
 * - staging or production holds a development-only setting (scripts/env-config.ts devOnlyProblems),
 * - a dry run does not list every binding of the Worker's config, bound to the environment's own
 *   Worker, database or queue (what wrangler's `[env.X]` sections silently drop),
 * - a Worker is larger than 100 KiB gzipped (issue 11's budget; the Workers Free plan allows 1 MB).
 * Prints the gzipped size of each Worker.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEPLOYABLE } from "../deploy/environments.ts";
import { devOnlyProblems, type GeneratedWorker, generateConfigs, readRaw } from "./env-config.ts";
import { PSP_SIM, ROOT, WORKERS, wrangler } from "./lib.ts";

/** The most a Worker may weigh, gzipped, as the dry run reports it. */
export const LIMIT_KIB = 100;

/** Every binding a config declares, with the resource name the dry run must show for it. */
export function expectedBindings(json: Record<string, unknown>): { binding: string; target: string[] | null }[] {
  const c = json as ReturnType<typeof readRaw>;
  return [
    ...Object.keys(c.vars ?? {}).map((binding) => ({ binding, target: null })),
    ...(c.services ?? []).map((s) => ({ binding: s.binding, target: [s.service] })),
    ...(c.durable_objects?.bindings ?? []).map((b) => ({ binding: b.name, target: [b.script_name ?? b.class_name] })),
    ...(c.queues?.producers ?? []).map((p) => ({ binding: p.binding, target: [p.queue] })),
    // Wrangler names a database by its name, or by its local id in development.
    ...(c.d1_databases ?? []).map((d) => ({
      binding: d.binding,
      target: [d.database_name, String(d.preview_database_id ?? d.database_id)],
    })),
    ...(c.assets ? [{ binding: String(c.assets.binding), target: null }] : []),
  ];
}

/** What is missing from a dry run's binding table ("env.NAME (target...)" lines). */
export function missingBindings(output: string, json: Record<string, unknown>): string[] {
  const lines = output.split("\n").filter((line) => line.trimStart().startsWith("env."));
  return expectedBindings(json)
    .filter(({ binding, target }) => {
      const line = lines.find((l) => l.trimStart().startsWith(`env.${binding} `) || l.trim() === `env.${binding}`);
      if (!line) return true;
      const shows = (name: string) => new RegExp(`[( ]${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[),]`).test(line);
      return target !== null && !target.some(shows);
    })
    .map(({ binding, target }) => (target ? `${binding} -> ${target.join(" or ")}` : binding));
}

export function gzipKiB(output: string): number | null {
  const match = /gzip: ([\d.]+) KiB/.exec(output);
  return match ? Number(match[1]) : null;
}

/** What is wrong with a dry run's size, if anything: none reported, or over LIMIT_KIB. */
export function sizeProblem(output: string): string | null {
  const kib = gzipKiB(output);
  if (kib === null) return "no size in the dry run's output";
  return kib > LIMIT_KIB ? `${kib} KiB gzipped, above ${LIMIT_KIB} KiB` : null;
}

interface Target {
  env: string;
  name: string;
  config: string;
  json: Record<string, unknown>;
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await fn(item);
    }),
  );
}

if (import.meta.main) {
  const failures: string[] = [];
  const targets: Target[] = [...WORKERS, PSP_SIM].map((w) => ({
    env: "development",
    name: w.name,
    config: join(ROOT, w.config),
    json: readRaw(w.config),
  }));
  for (const env of DEPLOYABLE) {
    const workers: GeneratedWorker[] = generateConfigs(env);
    failures.push(...devOnlyProblems(env, workers));
    targets.push(...workers.map((w) => ({ env, name: w.name, config: w.config, json: w.json })));
  }
  const scratch = mkdtempSync(join(tmpdir(), "edge-shop-check-"));
  const rows: string[] = [];
  try {
    await pool(targets, 2, async (t) => {
      const output = await wrangler(["deploy", "--dry-run", "--outdir", join(scratch, t.env, t.name), "-c", t.config], {
        quiet: true,
      }).catch((error: unknown) => {
        failures.push(`${t.name} (${t.env}): dry run failed\n${String(error).slice(-1500)}`);
        return "";
      });
      if (!output) return;
      const missing = missingBindings(output, t.json);
      if (missing.length > 0) failures.push(`${t.name} (${t.env}): the dry run lacks ${missing.join(", ")}`);
      const kib = gzipKiB(output);
      const tooBig = sizeProblem(output);
      if (tooBig) failures.push(`${t.name} (${t.env}): ${tooBig}`);
      rows.push(
        `| ${t.env} | ${t.name} | ${expectedBindings(t.json).length} | ${kib ?? "?"} KiB${t.json.minify ? "" : " (not minified)"} |`,
      );
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log("| environment | Worker | bindings listed | gzip |\n|---|---|---|---|");
  for (const row of rows.sort()) console.log(row);
  if (failures.length > 0) {
    console.error(`\n${failures.length} problem(s):\n- ${failures.join("\n- ")}`);
    process.exit(1);
  }
  console.log(`\ndry runs ok: ${targets.length} Workers in development, ${DEPLOYABLE.join(", ")}; all bindings listed`);
}
