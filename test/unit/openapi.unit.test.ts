import { Validator as OpenApiValidator } from "@seriousme/openapi-schema-validator";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createGateway } from "../../workers/gateway/src/app";
import { openApiDocument } from "../../workers/gateway/src/routes/openapi";
import {
  arbitraryFor,
  examplesOf,
  type OpenApiDocument,
  operations,
  patternsOf,
  validatorFor,
} from "../support/contract";

const doc = JSON.parse(JSON.stringify(openApiDocument(createGateway()))) as OpenApiDocument;
const validate = validatorFor(doc);

describe("the published OpenAPI document", () => {
  it("is valid OpenAPI 3.1 for a standard validator", async () => {
    const result = await new OpenApiValidator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("gives every operation a unique operationId, a tag, servers and its security", () => {
    const ids = operations(doc).map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const { method, path, operation } of operations(doc)) {
      expect(operation.tags?.length, `${method} ${path}`).toBe(1);
      expect(Array.isArray(operation.security), `${method} ${path} security`).toBe(true);
      const needsToken = (operation.security ?? []).length > 0;
      // A 401 where a token is needed, and on login (a failed login: SPEC.md's one 401 for any bad credential).
      const unauthenticatedAnswer = needsToken || operation.operationId === "login";
      expect(Boolean(operation.responses["401"]), `${method} ${path} 401`).toBe(unauthenticatedAnswer);
      if (path.startsWith("/api/")) {
        for (const status of ["413", "429", "431", "503"])
          expect(operation.responses[status], `${path} ${status}`).toBeDefined();
      }
    }
  });

  it("documents both answers of POST /api/orders with Location and Idempotent-Replayed", () => {
    const place = doc.paths["/api/orders"]?.post;
    for (const status of ["201", "202"]) {
      expect(Object.keys(place?.responses[status]?.headers ?? {})).toEqual(
        expect.arrayContaining(["Location", "Idempotent-Replayed", "RateLimit", "RateLimit-Policy"]),
      );
    }
    expect(place?.responses["429"]?.headers?.["Retry-After"]?.required).toBe(true);
  });

  it("has examples that validate against their schemas (the README's Alice registers)", () => {
    const examples = examplesOf(doc);
    expect(examples.length).toBeGreaterThan(10);
    for (const { where, schema, example } of examples) expect(validate(schema, example), where).toEqual([]);
    const register = doc.paths["/api/auth/register"]?.post?.requestBody?.content["application/json"]?.schema ?? {};
    const alice = {
      email: "alice@example.com",
      password: "correct horse battery",
      name: "Alice",
      phone: "+14155550123",
    };
    expect(validate(register, alice)).toEqual([]);
    expect(validate(register, { ...alice, email: "string" })).not.toEqual([]);
    expect(validate(register, { ...alice, name: "Al\u0007ice" })).not.toEqual([]);
  });

  it("publishes only satisfiable patterns: each yields values its whole schema accepts", () => {
    const patterns = patternsOf(doc);
    expect(patterns.length).toBeGreaterThan(5);
    for (const { where, schema } of patterns) {
      fc.assert(
        fc.property(arbitraryFor(doc, schema), (value) => validate(schema, value).length === 0),
        { numRuns: 5 },
      );
      expect(where).toBeTruthy();
    }
  });

  it("takes the Idempotency-Key forms the server accepts and refuses the others", () => {
    const header = doc.paths["/api/orders"]?.post?.parameters?.find((p) => p.name === "idempotency-key");
    const schema = header?.schema ?? {};
    expect(header?.required).toBe(true);
    for (const ok of ['"my-first-order"', "abc", "x".repeat(255), '"a\\"b"', `"${"y".repeat(255)}"`]) {
      expect(validate(schema, ok), ok).toEqual([]);
    }
    for (const bad of ["", "a b", "x".repeat(256), '"', '""', '"a", "b"', "é"]) {
      expect(validate(schema, bad), bad).not.toEqual([]);
    }
  });

  it("requires at least one property in PATCH bodies, as the server does", () => {
    for (const name of ["UserPatch", "ProductPatch"]) {
      expect(validate({ $ref: `#/components/schemas/${name}` }, {}), name).not.toEqual([]);
    }
  });
});
