/**
 * shop-psp-sim's HTTP API: what a payment provider with several endpoints looks like to
 * shop-payments. Every endpoint shares one ledger, so anything done through one endpoint is seen
 * through the others. JSON in and out; errors are RFC 9457 problem+json.
 *
 *   POST /:endpoint/v1/authorizations            {reference, amountCents, currency}
 *        -> 201 Authorization (new) | 200 the same Authorization (the reference was seen before)
 *        A decline is not an HTTP error: the authorisation is created with status "declined"
 *        (201), and replays return it as it is. One reference authorises one payment: the same
 *        reference with another amount or currency is a 409.
 *   GET  /:endpoint/v1/authorizations?reference=R -> 200 {items: [Authorization]} (zero or one)
 *   GET  /:endpoint/v1/authorizations/:id        -> 200 Authorization | 404
 *   POST /:endpoint/v1/authorizations/:id/capture   authorized -> captured
 *   POST /:endpoint/v1/authorizations/:id/void      authorized -> voided
 *   POST /:endpoint/v1/authorizations/:id/refund    captured   -> refunded
 *        -> 200 Authorization. Repeating an action that already happened answers 200 with the
 *        same state; any other transition (capture a voided one, refund an uncaptured one) is a
 *        409; an unknown id is a 404. Full amounts only.
 *
 *   Authorization = {id, reference, status: "authorized"|"declined"|"captured"|"voided"|"refunded",
 *                    amountCents, currency, endpoint, createdAt, updatedAt,
 *                    history: [{action, endpoint, at}]}   (one entry per effective change)
 *
 * Fault injection (only where FAULTS_ENABLED = "true"; everywhere else /admin/* is a 404):
 *   GET    /admin/faults   -> 200 Faults
 *   PUT    /admin/faults   Faults -> 200 Faults (all targets after the update). Each target given
 *          replaces its spec; `{}` or zero rates clear it; targets not given are unchanged.
 *   DELETE /admin/faults   -> 200 {} (clears every target)
 *   GET    /admin/authorizations?reference=R -> 200 {items: [Authorization]}, never faulted
 *   GET    /admin/status   -> 200 {instanceId, startedAt, authorizations, endpoints}; instanceId
 *          changes whenever the ledger object is re-created (eviction, restart)
 *
 *   Faults = {"psp"?: Spec, "psp:<endpoint>"?: Spec}, Spec = {errorRate?, declineRate?,
 *   timeoutRate?, latencyMs?}. A request to an endpoint gets the `psp` spec overridden field by
 *   field by its `psp:<endpoint>` spec; it waits `latencyMs`, then: with `timeoutRate` the
 *   operation is done but the answer comes only after 30 s (a client times out without knowing
 *   whether it happened); with `errorRate` a 503 and nothing done; with `declineRate` a new
 *   authorisation is declined. Faults live in the ledger and are read on every request, so they
 *   apply to every request that starts after the PUT returned.
 *
 * An endpoint not in PSP_ENDPOINTS is a 404. Every /:endpoint/v1 request must carry the API key
 * (PSP_API_KEY) as `Authorization: Bearer <key>`, as a real provider demands: otherwise a 401
 * problem with `WWW-Authenticate`, and nothing done. The admin API exists only where faults do.
 */
import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod";
import { CentsSchema, CurrencySchema } from "#shared/contracts/common";
import { FaultsSchema } from "#shared/contracts/payments";
import { notFoundProblem, type RequestVariables, serviceApp } from "#shared/http";
import { ProblemException, problemResponse } from "#shared/problem";
import { unwrap } from "#shared/result";
import { parseOrThrow, readBody } from "#shared/validation";
import { simConfig } from "./config";
import { drawFault, effectiveSpec, type FaultDraw } from "./faults";
import type { Action, PspLedger } from "./ledger";

/** How long a "timed out" request takes to answer: longer than any sensible client timeout. */
export const HANG_MS = 30_000;

type SimApp = {
  Bindings: Env;
  Variables: RequestVariables & { endpoint: string; fault: FaultDraw };
};

export const AuthorizationRequestSchema = z.strictObject({
  reference: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "1..64 of A-Z, a-z, 0-9, _ and -." }),
  amountCents: CentsSchema,
  currency: CurrencySchema,
});

const AuthorizationIdSchema = z.string().regex(/^auth_[0-9a-f]{32}$/);
const ReferenceQuerySchema = z.strictObject({ reference: AuthorizationRequestSchema.shape.reference });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads the request before answering early, as any server does, so the client's upload completes. */
async function drained(c: Context<SimApp>, response: Response | Promise<Response>): Promise<Response> {
  await c.req.raw.arrayBuffer().catch(() => undefined);
  return response;
}

function ledger(env: Env): DurableObjectStub<PspLedger> {
  return env.PSP_LEDGER.getByName("psp");
}

/** The authorisation id from the path; a malformed one is simply not found. */
function authorizationId(c: { req: { param(name: "id"): string } }): string {
  const id = c.req.param("id");
  if (!AuthorizationIdSchema.safeParse(id).success) {
    throw new ProblemException("not_found", { detail: `No authorization ${id.slice(0, 64)}.` });
  }
  return id;
}

/** Compares in constant time, so the answer's timing says nothing about the key. */
function sameKey(given: string, expected: string): boolean {
  const encoder = new TextEncoder();
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** The provider API's credential: `Authorization: Bearer <PSP_API_KEY>`, checked before anything else. */
const apiKey: MiddlewareHandler<SimApp> = async function apiKey(c, next) {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(c.req.header("authorization") ?? "");
  if (!match?.[1] || !sameKey(match[1], simConfig(c.env).apiKey)) {
    const detail = "A valid API key is required (Authorization: Bearer).";
    const headers = { "www-authenticate": 'Bearer realm="shop-psp-sim", error="invalid_token"' };
    return drained(c, problemResponse("unauthorized", detail, c.get("requestId"), { headers }));
  }
  await next();
};

/** Known endpoint, then faults: latency, then a 503 now, or the operation and a late answer. */
const endpointWithFaults: MiddlewareHandler<SimApp> = async function endpointWithFaults(c, next) {
  const endpoint = c.req.param("endpoint") ?? "";
  if (!simConfig(c.env).endpoints.has(endpoint)) return drained(c, notFoundProblem(c));
  const kind = c.req.method === "POST" && c.req.path.endsWith("/v1/authorizations") ? "authorize" : "other";
  const fault = drawFault(effectiveSpec(await ledger(c.env).faults(), endpoint), kind);
  c.set("endpoint", endpoint);
  c.set("fault", fault);
  if (fault.latencyMs > 0) await sleep(fault.latencyMs);
  if (fault.outcome === "error") {
    return drained(c, problemResponse("unavailable", "Simulated provider error.", c.get("requestId")));
  }
  await next();
  // The operation is done; the client gives up long before it hears so.
  if (fault.outcome === "timeout") await sleep(HANG_MS);
};

/** The admin API exists only where faults are enabled; elsewhere it is indistinguishable from no route. */
const faultsEnabled: MiddlewareHandler<SimApp> = async function faultsEnabled(c, next) {
  if (!simConfig(c.env).faultsEnabled) return drained(c, notFoundProblem(c));
  await next();
};

const transition = (action: Action) =>
  async function transitionHandler(c: Context<SimApp>) {
    const result = await ledger(c.env).transition(authorizationId(c), action, c.get("endpoint"));
    return c.json(unwrap(result), 200);
  };

export const app = serviceApp<SimApp>("shop-psp-sim", { identity: false })
  .use("/admin/*", faultsEnabled)
  .get("/admin/faults", async (c) => c.json(await ledger(c.env).faults()))
  .put("/admin/faults", async (c) => {
    const update = await readBody(c.req.raw, FaultsSchema);
    const { endpoints } = simConfig(c.env);
    const unknown = Object.keys(update).filter((target) => target !== "psp" && !endpoints.has(target.slice(4)));
    if (unknown.length > 0) {
      throw new ProblemException("validation_failed", {
        detail: "The request body is not valid.",
        errors: unknown.map((target) => ({ path: target, message: "Unknown endpoint." })),
      });
    }
    const faults = await ledger(c.env).updateFaults(update);
    c.get("log").info("faults set", { faults });
    return c.json(faults);
  })
  .delete("/admin/faults", async (c) => c.json(await ledger(c.env).clearFaults()))
  .get("/admin/authorizations", async (c) => {
    const { reference } = parseOrThrow(ReferenceQuerySchema, c.req.query(), "query");
    const found = await ledger(c.env).findByReference(reference);
    return c.json({ items: found ? [found] : [], nextCursor: null });
  })
  .get("/admin/status", async (c) => {
    const status = await ledger(c.env).status();
    return c.json({ ...status, endpoints: [...simConfig(c.env).endpoints] });
  })
  .use("/:endpoint/v1/*", apiKey, endpointWithFaults)
  .post("/:endpoint/v1/authorizations", async (c) => {
    const input = await readBody(c.req.raw, AuthorizationRequestSchema);
    const endpoint = c.get("endpoint");
    const decline = c.get("fault").outcome === "decline";
    const { authorization, created } = unwrap(await ledger(c.env).authorize({ ...input, endpoint, decline }));
    if (created) c.get("log").info("authorization created", { id: authorization.id, status: authorization.status });
    return c.json(authorization, created ? 201 : 200, created ? { location: `${c.req.path}/${authorization.id}` } : {});
  })
  .get("/:endpoint/v1/authorizations", async (c) => {
    const { reference } = parseOrThrow(ReferenceQuerySchema, c.req.query(), "query");
    const found = await ledger(c.env).findByReference(reference);
    return c.json({ items: found ? [found] : [], nextCursor: null });
  })
  .get("/:endpoint/v1/authorizations/:id", async (c) => {
    const id = authorizationId(c);
    const found = await ledger(c.env).get(id);
    if (!found) throw new ProblemException("not_found", { detail: `No authorization ${id}.` });
    return c.json(found);
  })
  .post("/:endpoint/v1/authorizations/:id/capture", transition("capture"))
  .post("/:endpoint/v1/authorizations/:id/void", transition("void"))
  .post("/:endpoint/v1/authorizations/:id/refund", transition("refund"));
