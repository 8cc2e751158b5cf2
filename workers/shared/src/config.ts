import * as z from "zod";

/*
 * The one way a Worker reads its vars: a zod object of the vars it reads, built from the readers
 * below, parsed by `readConfig`. A var is a string (or unset); a bad one throws an Error naming
 * it, so a misconfigured Worker fails loudly at its first request or health check.
 */

const isBlank = (value: unknown) => value === undefined || (typeof value === "string" && value.trim() === "");

/** An integer var of at least `min` (and at most `max`); unset or empty gives `fallback`, or is an error without one. */
export function intVar(min: number, options: { max?: number; fallback?: number } = {}) {
  const { max = Number.MAX_SAFE_INTEGER, fallback } = options;
  return z.preprocess(
    (value) => (isBlank(value) ? fallback : value),
    z.coerce
      .number({ error: (issue) => `must be an integer, got ${JSON.stringify(issue.input ?? null)}` })
      .int({ error: "must be an integer" })
      .min(min, { error: `must be an integer of at least ${min}` })
      .max(max, { error: `must be an integer of at most ${max}` }),
  );
}

/** A number var between `min` and `max` (a ratio, say). */
export function numberVar(min: number, max: number) {
  return z.coerce.number().min(min).max(max);
}

/** An on/off var: on only when it is exactly "true". */
export function flagVar() {
  return z
    .string()
    .optional()
    .transform((value) => value === "true");
}

/** A comma-separated list var: items trimmed, blanks dropped; unset is an error unless `optional` (then an empty list). */
export function listVar(options: { optional?: boolean } = {}) {
  return (options.optional ? z.string().optional() : z.string({ error: "is not set" })).transform((list) =>
    (list ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );
}

/** A string var that must be set and not blank. */
export function requiredVar() {
  return z.string({ error: "is not set" }).trim().min(1, { error: "is not set" });
}

/** Parses the vars with the Worker's schema; throws one Error naming every bad var. */
export function readConfig<S extends z.ZodType>(schema: S, vars: unknown): z.infer<S> {
  const parsed = schema.safeParse(vars);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join(".") || "(vars)"} ${issue.message}`,
  );
  throw new Error(`Bad configuration: ${problems.join("; ")}`);
}

const FaultsVarsSchema = z.object({ FAULTS_ENABLED: flagVar() });

/** FAULTS_ENABLED, read by every Worker that injects faults (development only). */
export function faultsEnabled(vars: { FAULTS_ENABLED?: string }): boolean {
  return readConfig(FaultsVarsSchema, vars).FAULTS_ENABLED;
}
