import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { type AppEnv, notFoundProblem, onProblem, requestContext } from "#shared/http";
import { ProblemException } from "#shared/problem";

function app() {
  return new Hono<AppEnv<object>>()
    .use(requestContext({ service: "test", trustCaller: false }))
    .get("/bug", () => {
      throw new Error("secret internal detail at /srv/app.ts:42");
    })
    .get("/problem", () => {
      throw new ProblemException("conflict", {
        detail: "Already done.",
        headers: { "retry-after": "3" },
        internal: "row 7 locked",
      });
    })
    .get("/hono", () => {
      throw new HTTPException(413, { message: "too big" });
    })
    .notFound(notFoundProblem)
    .onError(onProblem);
}

describe("problem handling of every Hono app", () => {
  it("turns a bug into a 500 problem without its message or stack", async () => {
    const res = await app().request("/bug");
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect(text).not.toContain("secret internal detail");
    expect(text).not.toMatch(/\.ts:\d+/);
    expect(JSON.parse(text)).toMatchObject({
      status: 500,
      code: "internal",
      instance: `urn:uuid:${res.headers.get("x-request-id")}`,
    });
  });

  it("renders a ProblemException with its headers, never its internal note", async () => {
    const res = await app().request("/problem");
    expect(res.status).toBe(409);
    expect(res.headers.get("retry-after")).toBe("3");
    const text = await res.text();
    expect(text).not.toContain("row 7");
    expect(JSON.parse(text)).toMatchObject({ code: "conflict", detail: "Already done." });
  });

  it("maps a plain HTTPException and unknown routes to problems", async () => {
    expect(await (await app().request("/hono")).json()).toMatchObject({ status: 413, code: "payload_too_large" });
    const missing = await app().request("/nothing");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });
  });
});
