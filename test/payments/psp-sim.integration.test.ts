import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newOrderId, type SimAuthorization, setFaults, simAuthorization, simFetch } from "./helpers";

/** shop-psp-sim's HTTP API, as any client of a payment provider sees it. */

const PROBLEM = "application/problem+json";

function authorize(endpoint: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return simFetch(`/${endpoint}/v1/authorizations`, { method: "POST", json: body, ...init });
}

async function created(endpoint = "a", amountCents = 1000): Promise<SimAuthorization> {
  const response = await authorize(endpoint, { reference: newOrderId(), amountCents, currency: "EUR" });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as SimAuthorization;
}

function act(endpoint: string, id: string, action: "capture" | "void" | "refund"): Promise<Response> {
  return simFetch(`/${endpoint}/v1/authorizations/${id}/${action}`, { method: "POST" });
}

async function problem(response: Response, status: number, code: string): Promise<{ detail: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toBe(PROBLEM);
  const body = JSON.parse(text) as { code: string; detail: string };
  expect(body.code).toBe(code);
  return body;
}

describe("authorizations", () => {
  it("creates one with 201 and a Location, and answers it by id through any endpoint", async () => {
    const reference = newOrderId();
    const response = await authorize("a", { reference, amountCents: 1234, currency: "USD" });
    expect(response.status).toBe(201);
    const body = (await response.json()) as SimAuthorization;
    expect(body).toMatchObject({ reference, status: "authorized", amountCents: 1234, currency: "USD", endpoint: "a" });
    expect(body.id).toMatch(/^auth_[0-9a-f]{32}$/);
    expect(response.headers.get("location")).toBe(`/a/v1/authorizations/${body.id}`);
    const read = await simFetch(`/b/v1/authorizations/${body.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(body);
  });

  it("is idempotent by reference across endpoints: a retry through b returns a's authorisation with 200", async () => {
    const reference = newOrderId();
    const first = (await (await authorize("a", { reference, amountCents: 500, currency: "EUR" })).json()) as {
      id: string;
    };
    const retry = await authorize("b", { reference, amountCents: 500, currency: "EUR" });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ id: first.id, endpoint: "a", history: [{ action: "authorize" }] });
  });

  it("refuses the same reference with another amount or currency (409)", async () => {
    const reference = newOrderId();
    expect((await authorize("a", { reference, amountCents: 500, currency: "EUR" })).status).toBe(201);
    await problem(await authorize("a", { reference, amountCents: 501, currency: "EUR" }), 409, "conflict");
    await problem(await authorize("b", { reference, amountCents: 500, currency: "USD" }), 409, "conflict");
  });

  it("finds one by reference, or none", async () => {
    const auth = await created();
    const found = await simFetch(`/b/v1/authorizations?reference=${auth.reference}`);
    expect(await found.json()).toEqual({ items: [auth], nextCursor: null });
    const none = await simFetch(`/b/v1/authorizations?reference=${newOrderId()}`);
    expect(await none.json()).toEqual({ items: [], nextCursor: null });
  });

  it.each([
    { name: "a missing amount", body: { reference: "r-1", currency: "EUR" }, field: "amountCents" },
    { name: "a negative amount", body: { reference: "r-1", amountCents: -5, currency: "EUR" }, field: "amountCents" },
    { name: "a bad currency", body: { reference: "r-1", amountCents: 5, currency: "euro" }, field: "currency" },
    { name: "a bad reference", body: { reference: "a b", amountCents: 5, currency: "EUR" }, field: "reference" },
    { name: "an unknown field", body: { reference: "r-1", amountCents: 5, currency: "EUR", x: 1 }, field: "x" },
  ])("refuses $name with a 400 naming the field", async ({ body, field }) => {
    const response = await authorize("a", body);
    const doc = (await problem(response, 400, "validation_failed")) as { errors?: { path: string }[] };
    expect(doc.errors?.map((e) => e.path)).toContain(field);
  });

  it("refuses a body that is not JSON", async () => {
    await problem(
      await simFetch("/a/v1/authorizations", {
        method: "POST",
        body: "{",
        headers: { "content-type": "application/json" },
      }),
      400,
      "bad_request",
    );
    await problem(await simFetch("/a/v1/authorizations", { method: "POST", body: "x" }), 415, "unsupported_media_type");
  });

  it("answers 404 for an endpoint it does not serve, and for unknown or malformed ids", async () => {
    await problem(await authorize("nope", { reference: "r-1", amountCents: 5, currency: "EUR" }), 404, "not_found");
    await problem(await simFetch(`/a/v1/authorizations/auth_${"0".repeat(32)}`), 404, "not_found");
    await problem(await act("a", `auth_${"0".repeat(32)}`, "capture"), 404, "not_found");
    await problem(await act("a", "not-an-id", "void"), 404, "not_found");
  });
});

describe("capture, void, refund", () => {
  it("moves authorized -> captured -> refunded, each repeat answering the same state", async () => {
    const auth = await created();
    const capture = await act("a", auth.id, "capture");
    expect(capture.status).toBe(200);
    expect(await capture.json()).toMatchObject({ status: "captured" });
    const again = await act("b", auth.id, "capture");
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: "captured" });
    expect((await (await act("b", auth.id, "refund")).json()) as SimAuthorization).toMatchObject({
      status: "refunded",
    });
    expect((await act("a", auth.id, "refund")).status).toBe(200);
    const history = (await simAuthorization(auth.reference))?.history.map((h) => `${h.action}@${h.endpoint}`);
    expect(history).toEqual(["authorize@a", "capture@a", "refund@b"]);
  });

  it("voids an authorisation; a repeat answers voided", async () => {
    const auth = await created();
    expect(await (await act("a", auth.id, "void")).json()).toMatchObject({ status: "voided" });
    expect(await (await act("b", auth.id, "void")).json()).toMatchObject({ status: "voided" });
  });

  it.each([
    { name: "capture a voided one", setup: ["void"], action: "capture" },
    { name: "refund an uncaptured one", setup: [], action: "refund" },
    { name: "refund a voided one", setup: ["void"], action: "refund" },
    { name: "void a captured one", setup: ["capture"], action: "void" },
    { name: "capture a refunded one", setup: ["capture", "refund"], action: "capture" },
  ] as const)("answers 409 to $name, and changes nothing", async ({ setup, action }) => {
    const auth = await created();
    for (const step of setup) expect((await act("a", auth.id, step)).status).toBe(200);
    const before = await simAuthorization(auth.reference);
    await problem(await act("a", auth.id, action), 409, "conflict");
    expect(await simAuthorization(auth.reference)).toEqual(before);
  });

  it("cannot capture or refund a declined one", async () => {
    await setFaults({ "psp:a": { declineRate: 1 } });
    const response = await authorize("a", { reference: newOrderId(), amountCents: 10, currency: "EUR" });
    expect(response.status).toBe(201);
    const declined = (await response.json()) as SimAuthorization;
    expect(declined.status).toBe("declined");
    await problem(await act("b", declined.id, "capture"), 409, "conflict");
    await problem(await act("b", declined.id, "refund"), 409, "conflict");
  });
});

describe("faults", () => {
  it("apply to the next request after the PUT returns, and `{}` clears them", async () => {
    const body = () => ({ reference: newOrderId(), amountCents: 10, currency: "EUR" });
    await setFaults({ "psp:b": { errorRate: 1 } });
    await problem(await authorize("b", body()), 503, "unavailable");
    expect((await authorize("a", body())).status).toBe(201);
    await setFaults({ "psp:b": {} });
    expect((await authorize("b", body())).status).toBe(201);
  });

  it("an error does nothing: the reference is still free", async () => {
    await setFaults({ psp: { errorRate: 1 } });
    const reference = newOrderId();
    await problem(await authorize("a", { reference, amountCents: 10, currency: "EUR" }), 503, "unavailable");
    expect(await simAuthorization(reference)).toBeUndefined();
  });

  it("a timeout does the work but does not answer in time", async () => {
    await setFaults({ "psp:c": { timeoutRate: 1 } });
    const reference = newOrderId();
    await expect(
      authorize("c", { reference, amountCents: 10, currency: "EUR" }, { signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    expect((await simAuthorization(reference))?.status).toBe("authorized");
  });

  it("a decline is a 201 with status declined, and replays stay declined once faults are gone", async () => {
    await setFaults({ "psp:a": { declineRate: 1 } });
    const reference = newOrderId();
    const response = await authorize("a", { reference, amountCents: 10, currency: "EUR" });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ status: "declined", history: [{ action: "decline" }] });
    await setFaults({ "psp:a": {} });
    const replay = await authorize("a", { reference, amountCents: 10, currency: "EUR" });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ status: "declined" });
  });

  it("declines only authorisations: captures go through", async () => {
    const auth = await created("d");
    await setFaults({ psp: { declineRate: 1 } });
    expect(await (await act("d", auth.id, "capture")).json()).toMatchObject({ status: "captured" });
  });

  it("adds latency", async () => {
    await setFaults({ "psp:e": { latencyMs: 200 } });
    const startedAt = Date.now();
    expect((await simFetch(`/e/v1/authorizations?reference=${newOrderId()}`)).status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(195);
  });

  it("combines psp with psp:<endpoint>, the endpoint's fields winning", async () => {
    await setFaults({ psp: { errorRate: 1 }, "psp:f": { errorRate: 0, latencyMs: 1 } });
    const body = () => ({ reference: newOrderId(), amountCents: 10, currency: "EUR" });
    expect((await authorize("f", body())).status).toBe(201);
    expect((await authorize("g", body())).status).toBe(503);
  });

  it("PUT replaces the targets it names, clears the empty ones and keeps the rest", async () => {
    await setFaults({ psp: { latencyMs: 1 }, "psp:a": { errorRate: 0.5 }, "psp:b": { timeoutRate: 0.1 } });
    const put = await simFetch("/admin/faults", {
      method: "PUT",
      json: { "psp:a": { declineRate: 0.25 }, "psp:b": { errorRate: 0, timeoutRate: 0 } },
    });
    expect(await put.json()).toEqual({ psp: { latencyMs: 1 }, "psp:a": { declineRate: 0.25 } });
    expect(await (await simFetch("/admin/faults")).json()).toEqual({
      psp: { latencyMs: 1 },
      "psp:a": { declineRate: 0.25 },
    });
    expect(await (await simFetch("/admin/faults", { method: "DELETE" })).json()).toEqual({});
    expect(await (await simFetch("/admin/faults")).json()).toEqual({});
  });

  it.each([
    { name: "a rate above 1", body: { psp: { errorRate: 1.5 } } },
    { name: "a negative latency", body: { psp: { latencyMs: -1 } } },
    { name: "an unknown field", body: { psp: { explode: true } } },
    { name: "a bad target", body: { payments: { errorRate: 1 } } },
    { name: "an endpoint it does not serve", body: { "psp:nope": { errorRate: 1 } } },
  ])("refuses $name with a 400", async ({ body }) => {
    await problem(await simFetch("/admin/faults", { method: "PUT", json: body }), 400, "validation_failed");
    expect(await (await simFetch("/admin/faults")).json()).toEqual({});
  });
});

describe("the ledger object", () => {
  it("keeps authorisations and faults across eviction (a new instance reads them back)", async () => {
    const before = (await (await simFetch("/admin/status")).json()) as { instanceId: string; authorizations: number };
    const auth = await created("h");
    expect((await act("h", auth.id, "capture")).status).toBe(200);
    await setFaults({ "psp:z": { latencyMs: 3 } });

    await abortAllDurableObjects();

    const after = (await (await simFetch("/admin/status")).json()) as { instanceId: string; authorizations: number };
    expect(after.instanceId).not.toBe(before.instanceId);
    expect(after.authorizations).toBe(before.authorizations + 1);
    expect(await simAuthorization(auth.reference)).toMatchObject({ id: auth.id, status: "captured" });
    expect(await (await simFetch("/admin/faults")).json()).toEqual({ "psp:z": { latencyMs: 3 } });
  });
});

describe("with FAULTS_ENABLED false (everywhere but local dev)", () => {
  const locked = (path: string, init: RequestInit = {}) => env.PSP_SIM_LOCKED.fetch(`http://psp${path}`, init);

  it.each([
    { method: "GET", path: "/admin/faults" },
    { method: "PUT", path: "/admin/faults" },
    { method: "DELETE", path: "/admin/faults" },
    { method: "GET", path: "/admin/status" },
    { method: "GET", path: "/admin/authorizations?reference=x" },
  ])("$method $path is a 404", async ({ method, path }) => {
    const body = method === "PUT" ? JSON.stringify({ psp: { errorRate: 1 } }) : undefined;
    await problem(
      await locked(path, { method, body, headers: { "content-type": "application/json" } }),
      404,
      "not_found",
    );
  });

  it("still serves its endpoints", async () => {
    const response = await locked("/a/v1/authorizations", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.PSP_API_KEY}` },
      body: JSON.stringify({ reference: newOrderId(), amountCents: 1, currency: "EUR" }),
    });
    expect(response.status).toBe(201);
  });
});
