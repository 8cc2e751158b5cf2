import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  arbitraryFor,
  invalidBodyFor,
  type OpenApiDocument,
  type Operation,
  operations,
  type Parameter,
} from "../support/contract";
import { call, publishedDocument, registerAndLogin, type TestUser } from "./helpers";

/**
 * Schema-driven property test: requests generated from /openapi.json itself, valid and invalid,
 * to every operation as an anonymous caller, a customer and an admin. `call` checks every answer
 * against the contract; here: never a 5xx, every error problem+json, invalid input a 4xx that
 * writes nothing. Run counts are modest so that `npm test` stays quick.
 */

const RUNS = 2;
// Valid requests to these change the whole system for the files after this one (faults stay in
// force, a replay floods the notifications queue): they get invalid requests only.
const INVALID_ONLY = new Set(["setFaults", "replayEvents", "redriveDeadLetters"]);

let doc: OpenApiDocument;
let customer: TestUser;
let admin: TestUser;
beforeAll(async () => {
  doc = await publishedDocument();
  customer = await registerAndLogin();
  admin = await registerAndLogin({ role: "admin" });
});

interface Generated {
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: unknown;
}

const paramsArbitrary = (parameters: Parameter[], where: Parameter["in"]) =>
  fc.record(
    Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, arbitraryFor(doc, p.schema)])),
    { requiredKeys: parameters.filter((p) => p.in === where && p.required).map((p) => p.name) },
  );

function requestArbitrary(template: string, operation: Operation, valid: boolean): fc.Arbitrary<Generated> {
  const parameters = operation.parameters ?? [];
  const schema = operation.requestBody?.content["application/json"]?.schema;
  const body = schema ? (valid ? arbitraryFor(doc, schema) : invalidBodyFor(doc, schema)) : fc.constant(undefined);
  return fc
    .record({
      path: paramsArbitrary(parameters, "path"),
      query: paramsArbitrary(parameters, "query"),
      headers: paramsArbitrary(parameters, "header"),
      body,
    })
    .map(({ path, query, headers, body }) => ({
      path: template.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String(path[name]))),
      query: new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString(),
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
      body,
    }));
}

async function send(method: string, generated: Generated, token: string | undefined): Promise<Response> {
  const path = generated.query ? `${generated.path}?${generated.query}` : generated.path;
  return call(path, {
    method: method.toUpperCase(),
    ...(token ? { token } : {}),
    headers: generated.headers,
    ...(generated.body !== undefined ? { json: generated.body } : {}),
  });
}

async function expectSound(response: Response, label: string): Promise<void> {
  expect(response.status, label).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers.get("content-type"), label).toBe("application/problem+json");
    const problem = (await response.json()) as { status: number; instance: string };
    expect(problem.status, label).toBe(response.status);
    expect(problem.instance, label).toMatch(/^urn:uuid:/);
  }
}

/** Rows a refused request must not create or change. */
async function footprint(): Promise<string> {
  const count = async (db: D1Database, sql: string) => JSON.stringify(await db.prepare(sql).first());
  return [
    await count(env.USERS_DB, "SELECT COUNT(*) AS n, MAX(updated_at) AS u, SUM(role = 'admin') AS a FROM users"),
    await count(env.CATALOG_DB, "SELECT COUNT(*) AS n, SUM(price_cents) AS p, SUM(stocked) AS s FROM products"),
    await count(env.ORDERS_DB, "SELECT COUNT(*) AS n FROM orders"),
  ].join(" ");
}

describe("every operation, with requests generated from the published schemas", () => {
  it("answers valid requests as documented, for anonymous callers, customers and admins, never with a 5xx", async () => {
    for (const { method, path, operation } of operations(doc)) {
      if (INVALID_ONLY.has(operation.operationId ?? "")) continue;
      for (const [who, token] of [
        ["anonymous", undefined],
        ["customer", customer.accessToken],
        ["admin", admin.accessToken],
      ] as const) {
        await fc.assert(
          fc.asyncProperty(requestArbitrary(path, operation, true), async (generated) => {
            await expectSound(await send(method, generated, token), `${who} ${method} ${generated.path}`);
          }),
          { numRuns: RUNS },
        );
      }
    }
  }, 180_000);

  it("refuses invalid bodies with a 4xx problem and writes nothing", async () => {
    const before = await footprint();
    for (const { method, path, operation } of operations(doc)) {
      if (!operation.requestBody) continue;
      for (const token of [undefined, customer.accessToken, admin.accessToken]) {
        await fc.assert(
          fc.asyncProperty(requestArbitrary(path, operation, false), async (generated) => {
            const response = await send(method, generated, token);
            const label = `${method} ${generated.path} ${JSON.stringify(generated.body)}`;
            await expectSound(response, label);
            expect(response.status, label).toBeGreaterThanOrEqual(400);
          }),
          { numRuns: RUNS },
        );
      }
    }
    expect(await footprint()).toBe(before);
  }, 180_000);
});
