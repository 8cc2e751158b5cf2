/**
 * The published contract as a test oracle: find the operation a request meant, check that a
 * response is one it documents (status, media type, body schema, headers), and derive fast-check
 * arbitraries from its schemas. Runs in Node (unit) and in workerd (system): @cfworker/json-schema
 * validates without `eval`, which workerd forbids.
 */
import { type Schema, Validator } from "@cfworker/json-schema";
import fc from "fast-check";

export type JsonSchema = Record<string, unknown>;
export interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
}
export interface HeaderObject {
  required?: boolean;
  schema?: JsonSchema;
}
export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaType>;
}
export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: JsonSchema;
}
export interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; responses?: Record<string, ResponseObject> };
}

export const METHODS = ["get", "put", "post", "patch", "delete"] as const;

/** What any request can get before the gateway routes it: components.responses by status. */
const BEFORE_ROUTING: Record<number, string> = {
  413: "PayloadTooLarge",
  429: "TooManyRequests",
  431: "RequestHeaderFieldsTooLarge",
  503: "ServiceUnavailable",
};

/** Every operation with its method and path template. */
export function operations(doc: OpenApiDocument): { method: string; path: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ method, path, operation: item[method] as Operation })),
  );
}

const templateRegex = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);

/**
 * The operation a request reaches, as the gateway routes it: the first path (in document order,
 * which is registration order) whose template matches and has the method; 405 when the path
 * exists with other methods; 404 when no path matches.
 */
export function matchOperation(
  doc: OpenApiDocument,
  method: string,
  pathname: string,
): { path: string; operation: Operation } | "404" | "405" {
  const wanted = method.toLowerCase() === "head" ? "get" : method.toLowerCase();
  let pathExists = false;
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!templateRegex(path).test(pathname)) continue;
    pathExists = true;
    const operation = item[wanted];
    if (operation) return { path, operation };
  }
  return pathExists ? "405" : "404";
}

/** A validator for one schema of the document (refs resolve against its components). */
export function validatorFor(doc: OpenApiDocument): (schema: JsonSchema, value: unknown) => string[] {
  const cache = new Map<JsonSchema, Validator>();
  return (schema, value) => {
    let validator = cache.get(schema);
    if (!validator) {
      validator = new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);
      cache.set(schema, validator);
    }
    const result = validator.validate(value);
    return result.valid ? [] : result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
  };
}

export interface ObservedResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Everything in which a response disagrees with the contract for its request (empty: it conforms).
 * A request that matches no operation must get the document's NotFound or MethodNotAllowed.
 */
export function contractViolations(
  doc: OpenApiDocument,
  request: { method: string; pathname: string },
  response: ObservedResponse,
): string[] {
  const validate = validatorFor(doc);
  const match = matchOperation(doc, request.method, request.pathname);
  let documented: ResponseObject | undefined;
  if (match === "404" || match === "405") {
    // Size checks and the rate limit come before routing (SPEC.md section 3).
    const name = { [match]: match === "404" ? "NotFound" : "MethodNotAllowed", ...BEFORE_ROUTING }[response.status];
    documented = name ? doc.components.responses?.[name] : undefined;
    if (!documented) return [`no operation (${match}) and no documented ${response.status}`];
  } else {
    documented = match.operation.responses[String(response.status)] ?? match.operation.responses.default;
    if (!documented) {
      return [
        `${match.operation.operationId}: status ${response.status} is not documented (${Object.keys(match.operation.responses).join(", ")})`,
      ];
    }
  }
  if (!documented) return ["no documented response"];
  const where = match === "404" || match === "405" ? match : (match.operation.operationId ?? match.path);
  const violations: string[] = [];
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) violations.push(`${where} ${response.status}: header ${name} missing`);
      continue;
    }
    if (header.schema) {
      for (const error of validate(header.schema, value))
        violations.push(`${where} ${response.status}: header ${name}: ${error}`);
    }
  }
  const isHead = request.method.toUpperCase() === "HEAD";
  if (!documented.content || isHead || response.status === 204) {
    if (documented.content === undefined && response.body.length > 0 && !isHead) {
      violations.push(`${where} ${response.status}: a body where none is documented`);
    }
    return violations;
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const media = documented.content[type];
  if (!media) {
    violations.push(`${where} ${response.status}: content-type ${type} not in ${Object.keys(documented.content)}`);
    return violations;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    violations.push(`${where} ${response.status}: body is not JSON`);
    return violations;
  }
  if (media.schema) {
    for (const error of validate(media.schema, body)) violations.push(`${where} ${response.status}: body ${error}`);
  }
  return violations;
}

/** Every example in the document (schema `examples`, media-type `example`) with the schema it must satisfy. */
export function examplesOf(doc: OpenApiDocument): { where: string; schema: JsonSchema; example: unknown }[] {
  const found: { where: string; schema: JsonSchema; example: unknown }[] = [];
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) walk(child, `${where}/${i}`);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.examples) && ("type" in record || "properties" in record || "$ref" in record)) {
      for (const [i, example] of record.examples.entries()) {
        const { examples: _examples, ...schema } = record;
        found.push({ where: `${where}/examples/${i}`, schema, example });
      }
    }
    if ("example" in record && record.schema && typeof record.schema === "object") {
      found.push({ where: `${where}/example`, schema: record.schema as JsonSchema, example: record.example });
    }
    for (const [key, child] of Object.entries(record)) if (key !== "examples") walk(child, `${where}/${key}`);
  };
  walk(doc.paths, "#/paths");
  walk(doc.components.schemas, "#/components/schemas");
  return found;
}

/** Every `pattern` in the document with the schema that carries it. */
export function patternsOf(doc: OpenApiDocument): { where: string; schema: JsonSchema }[] {
  const found: { where: string; schema: JsonSchema }[] = [];
  const walk = (node: unknown, where: string) => {
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    if (typeof record.pattern === "string") found.push({ where, schema: record });
    for (const [key, child] of Object.entries(record)) walk(child, `${where}/${key}`);
  };
  walk(doc, "#");
  return found;
}

/**
 * A fast-check arbitrary of values the schema accepts, derived from the schema alone (refs,
 * types, enums, patterns, formats, bounds, required and optional properties), then filtered by
 * the validator for what the parts cannot express together (a pattern and a length, say). An
 * unsatisfiable schema makes fast-check give up: the property fails.
 */
export function arbitraryFor(doc: OpenApiDocument, schema: JsonSchema): fc.Arbitrary<unknown> {
  const validate = validatorFor(doc);
  return raw(doc, schema, 0).filter((value) => validate(schema, value).length === 0);
}

function raw(doc: OpenApiDocument, schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/components/schemas/", "");
    return raw(doc, doc.components.schemas[name] ?? {}, depth + 1);
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  for (const key of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(schema[key]))
      return fc.oneof(...(schema[key] as JsonSchema[]).map((s) => raw(doc, s, depth + 1)));
  }
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  if (types.length > 1) return fc.oneof(...types.map((type) => raw(doc, { ...schema, type }, depth)));
  const num = (key: string) => (typeof schema[key] === "number" ? (schema[key] as number) : undefined);
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: num("minimum") ?? -1_000_000, max: num("maximum") ?? 1_000_000 });
    case "number":
      return fc.double({
        min: num("minimum") ?? -1e6,
        max: num("maximum") ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "string": {
      if (schema.format === "email") return fc.emailAddress().filter((e) => e.length <= (num("maxLength") ?? 254));
      if (schema.format === "date-time") {
        return fc
          .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2030-01-01T00:00:00Z"), noInvalidDate: true })
          .map((d) => d.toISOString());
      }
      if (typeof schema.pattern === "string") return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ minLength: num("minLength") ?? 0, maxLength: Math.min(num("maxLength") ?? 40, 40) });
    }
    case "array": {
      const items = (schema.items as JsonSchema | undefined) ?? {};
      return fc.array(raw(doc, items, depth + 1), {
        minLength: num("minItems") ?? 0,
        maxLength: Math.min(num("maxItems") ?? 3, 3),
      });
    }
    default: {
      const properties = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
      if (Object.keys(properties).length === 0 && types[0] !== "object") return fc.jsonValue({ maxDepth: 2 });
      const required = (schema.required as string[] | undefined) ?? [];
      const record = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, raw(doc, s, depth + 1)]));
      return fc.record(record, { requiredKeys: required });
    }
  }
}

/**
 * A body the schema refuses: a required property dropped, an unknown one added, or a value of
 * the wrong type. Never a valid one (the caller filters with the validator).
 */
export function invalidBodyFor(doc: OpenApiDocument, schema: JsonSchema): fc.Arbitrary<unknown> {
  const validate = validatorFor(doc);
  return fc
    .oneof(
      arbitraryFor(doc, schema).map((value) =>
        value !== null && typeof value === "object" && !Array.isArray(value)
          ? { ...value, "unexpected-field": 1 }
          : { "unexpected-field": 1 },
      ),
      fc.constantFrom<unknown>(null, 42, "text", [], [{}], { items: "x" }, { email: 1, password: [] }),
    )
    .filter((value) => validate(schema, value).length > 0);
}
