/**
 * Part of `npm run check`: fails when a field of the saga view (GET /api/orders/:id `saga`, the
 * retry answer, GET /api/admin/sagas items) is not described in the OpenAPI document the gateway
 * serves, or the document describes a field the contract does not have (`scripts/saga-doc.ts`).
 */
import { importBundled, publishedDocument } from "./bundled.ts";
import { type SagaContracts, sagaDocProblems } from "./saga-doc.ts";

const contracts = await importBundled<SagaContracts>(`import * as z from "zod";
import { SagaSummarySchema, SagaViewSchema } from "./workers/shared/src/contracts/orders";
export const view = z.toJSONSchema(SagaViewSchema, { io: "output" });
export const summary = z.toJSONSchema(SagaSummarySchema, { io: "output" });`);

const problems = sagaDocProblems(await publishedDocument(), { view: contracts.view, summary: contracts.summary });
if (problems.length > 0) {
  console.error(`the published saga view disagrees with its contract:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("the saga view is fully described in /openapi.json");
