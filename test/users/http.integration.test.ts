import { describe, expect, it } from "vitest";
import { call, expectProblem, registerUser } from "./helpers";

const REQUEST_ID = "0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe("the HTTP app behind the gateway", () => {
  it("keeps the gateway's request id as the problem instance and echoes it", async () => {
    const response = await call("/api/users/me", { headers: { "x-request-id": REQUEST_ID } });

    const problem = await expectProblem(response, 401, "unauthorized");
    expect(problem.instance).toBe(`urn:uuid:${REQUEST_ID}`);
    expect(response.headers.get("x-request-id")).toBe(REQUEST_ID);
  });

  it("mints its own request id when the given one is not a UUID", async () => {
    const response = await call("/api/users/me", { headers: { "x-request-id": "not-a-uuid" } });

    const problem = await expectProblem(response, 401, "unauthorized");
    const minted = response.headers.get("x-request-id");
    expect(minted).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(problem.instance).toBe(`urn:uuid:${minted}`);
  });

  it("continues the caller's trace with a span of its own", async () => {
    const { identity } = await registerUser();

    const response = await call("/api/users/me", { as: identity, headers: { traceparent: TRACEPARENT } });

    expect(response.status).toBe(200);
    const traceparent = response.headers.get("traceparent") ?? "";
    expect(traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(traceparent).not.toBe(TRACEPARENT);
  });

  it("answers an unknown route with a 404 problem naming it", async () => {
    const problem = await expectProblem(await call("/api/nothing-here"), 404, "not_found");

    expect(problem.detail).toBe("No route for GET /api/nothing-here.");
  });

  it("answers a method the route does not have with a problem, not a 5xx", async () => {
    const { user, identity } = await registerUser();

    await expectProblem(await call(`/api/users/${user.id}`, { as: identity, method: "DELETE" }), 404, "not_found");
  });

  it("treats identity headers with an unknown role as anonymous", async () => {
    const { user } = await registerUser();

    const response = await call("/api/users/me", {
      headers: { "x-shop-user-id": user.id, "x-shop-user-role": "root" },
    });

    await expectProblem(response, 401, "unauthorized");
  });
});
