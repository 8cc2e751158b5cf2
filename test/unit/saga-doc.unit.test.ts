import { describe, expect, it } from "vitest";
import * as z from "zod";
import { SagaSummarySchema, SagaViewSchema } from "#shared/contracts/orders";
import { fieldPaths, sagaDocProblems } from "../../scripts/saga-doc";
import { createGateway } from "../../workers/gateway/src/app";
import { openApiDocument } from "../../workers/gateway/src/routes/openapi";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit deep parts of a JSON document
type Json = Record<string, any>;

const published = (): Json => JSON.parse(JSON.stringify(openApiDocument(createGateway())));
const contracts = {
  view: z.toJSONSchema(SagaViewSchema, { io: "output" }) as Json,
  summary: z.toJSONSchema(SagaSummarySchema, { io: "output" }) as Json,
};

describe("npm run check: the saga view in /openapi.json (scripts/saga-doc.ts)", () => {
  it("finds the published document describing exactly the contract's saga fields", () => {
    const fields = fieldPaths(contracts.view, contracts.view);
    expect(fields).toEqual(
      expect.arrayContaining(["state", "reason", "steps", "steps[].attempts", "steps[].history[].outcome"]),
    );
    expect(sagaDocProblems(published(), contracts)).toEqual([]);
  });

  it("fails on a saga field the document leaves out (a deliberate mistake: no history)", () => {
    const doc = published();
    delete doc.components.schemas.SagaStep.properties.history;

    const problems = sagaDocProblems(doc, contracts);

    expect(problems).toContain("GET /api/orders/{id} 200: steps[].history is undocumented");
    expect(problems).toContain("GET /api/orders/{id} 200: steps[].history[].breaker is undocumented");
    expect(problems).toContain("POST /api/admin/sagas/{id}/retry 202: steps[].history is undocumented");
  });

  it("fails on a field the contract gains without the document, and on one only the document has", () => {
    const view = z.toJSONSchema(SagaViewSchema.extend({ deadlineAt: z.string() }), { io: "output" }) as Json;
    expect(sagaDocProblems(published(), { ...contracts, view })).toContain(
      "GET /api/orders/{id} 200: deadlineAt is undocumented",
    );

    const doc = published();
    doc.components.schemas.SagaSummary.properties.owner = { type: "string" };
    expect(sagaDocProblems(doc, contracts)).toEqual(["GET /api/admin/sagas 200: owner is not in the contract"]);
  });

  it("fails when an operation no longer describes its body", () => {
    const doc = published();
    delete doc.paths["/api/orders/{id}"].get.responses["200"].content;

    expect(sagaDocProblems(doc, contracts)).toEqual(["GET /api/orders/{id} 200: the document describes no JSON body"]);
  });
});
