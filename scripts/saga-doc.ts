/**
 * Is every field of the saga view described in the published OpenAPI document, with nothing
 * described that the view does not have? Both sides are JSON Schema: the contract's zod schemas
 * (`SagaViewSchema`, `SagaSummarySchema`) converted by zod, and the document the gateway serves.
 * Pure: `scripts/check-saga-doc.ts` feeds it the real ones, `test/unit/saga-doc.unit.test.ts`
 * deliberate mistakes.
 */

type Schema = { [key: string]: unknown };

/** Follows a local `$ref` ("#/components/schemas/Saga", "#/$defs/SagaStep") within its document. */
function resolve(root: Schema, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === "string"; hops++) {
    if (hops > 20 || !current.$ref.startsWith("#/")) throw new Error(`cannot follow $ref ${current.$ref}`);
    let target: unknown = root;
    for (const part of current.$ref.slice(2).split("/")) target = (target as Schema | undefined)?.[part];
    if (!target || typeof target !== "object") throw new Error(`$ref ${current.$ref} points at nothing`);
    current = target as Schema;
  }
  return current;
}

/**
 * Every field path a JSON Schema describes: `state`, `steps`, `steps[].history[].outcome`. Both
 * branches of an `anyOf`/`oneOf` (a nullable object) count.
 */
export function fieldPaths(root: Schema, schema: Schema, at = "", seen: Set<Schema> = new Set()): string[] {
  const resolved = resolve(root, schema);
  if (seen.has(resolved)) return [];
  const inner = new Set(seen).add(resolved);
  const paths: string[] = [];
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    for (const branch of (resolved[key] as Schema[] | undefined) ?? [])
      paths.push(...fieldPaths(root, branch, at, inner));
  }
  const properties = (resolved.properties ?? {}) as Record<string, Schema>;
  for (const [name, property] of Object.entries(properties)) {
    const path = at ? `${at}.${name}` : name;
    paths.push(path, ...fieldPaths(root, property, path, inner));
  }
  if (resolved.items && typeof resolved.items === "object") {
    paths.push(...fieldPaths(root, resolved.items as Schema, `${at}[]`, inner));
  }
  return [...new Set(paths)].sort();
}

/** The schema under a path of property names and `[]` (array items), following `$ref`s. */
export function schemaAt(root: Schema, schema: Schema, path: readonly string[]): Schema {
  let current = schema;
  for (const step of path) {
    const resolved = resolve(root, current);
    const next = step === "[]" ? resolved.items : (resolved.properties as Record<string, unknown> | undefined)?.[step];
    if (!next || typeof next !== "object") throw new Error(`no ${step} in the schema`);
    current = next as Schema;
  }
  return current;
}

/** The published places the saga view appears in: operation, status, and the path to the view within the body. */
export const SAGA_PLACES = [
  { method: "get", path: "/api/orders/{id}", status: "200", within: ["saga"], contract: "view" },
  { method: "post", path: "/api/admin/sagas/{id}/retry", status: "202", within: [], contract: "view" },
  { method: "get", path: "/api/admin/sagas", status: "200", within: ["items", "[]"], contract: "summary" },
] as const;

export interface SagaContracts {
  /** JSON Schema of `SagaViewSchema` (the saga of GET /api/orders/:id). */
  view: Schema;
  /** JSON Schema of `SagaSummarySchema` (the items of GET /api/admin/sagas). */
  summary: Schema;
}

/** What disagrees, one line each; empty when the document describes exactly the contract's fields. */
export function sagaDocProblems(doc: Schema, contracts: SagaContracts): string[] {
  const problems: string[] = [];
  for (const place of SAGA_PLACES) {
    const where = `${place.method.toUpperCase()} ${place.path} ${place.status}`;
    const operation = ((doc.paths as Record<string, Schema> | undefined)?.[place.path]?.[place.method] ??
      null) as Schema | null;
    const body = (
      (operation?.responses as Record<string, Schema> | undefined)?.[place.status]?.content as
        | Record<string, Schema>
        | undefined
    )?.["application/json"]?.schema as Schema | undefined;
    if (!body) {
      problems.push(`${where}: the document describes no JSON body`);
      continue;
    }
    let published: string[];
    try {
      published = fieldPaths(doc, schemaAt(doc, body, place.within));
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      continue;
    }
    const contract = contracts[place.contract];
    const expected = fieldPaths(contract, contract);
    for (const field of expected) if (!published.includes(field)) problems.push(`${where}: ${field} is undocumented`);
    for (const field of published)
      if (!expected.includes(field)) problems.push(`${where}: ${field} is not in the contract`);
  }
  return problems;
}
