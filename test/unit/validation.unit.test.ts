import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ProblemException } from "#shared/problem";
import { fieldErrors, parseOrThrow, readBody, readJson } from "#shared/validation";

const Order = z.object({
  email: z.email(),
  items: z.array(z.object({ productId: z.string().min(1), quantity: z.number().int().positive() })).min(1),
});

function post(body: string, contentType?: string): Request {
  return new Request("http://x", {
    method: "POST",
    headers: contentType === undefined ? {} : { "content-type": contentType },
    body,
  });
}

/** Runs `fn` and returns the ProblemException it throws (fails the test if it does not). */
async function problemFrom(fn: () => unknown): Promise<ProblemException> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProblemException);
    return error as ProblemException;
  }
  throw new Error("expected a ProblemException, nothing was thrown");
}

describe("parseOrThrow", () => {
  it("returns the parsed value, without unknown keys, when it is valid", () => {
    const value = { email: "ann@example.com", items: [{ productId: "prd_1", quantity: 2 }], extra: true };
    expect(parseOrThrow(Order, value)).toEqual({
      email: "ann@example.com",
      items: [{ productId: "prd_1", quantity: 2 }],
    });
  });

  it("throws a 400 validation_failed problem listing every field error by dotted path", async () => {
    const error = await problemFrom(() =>
      parseOrThrow(Order, { email: "not-an-email", items: [{ productId: "prd_1", quantity: 0 }, { quantity: 1 }] }),
    );
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.detail).toBe("The request body is not valid.");
    expect(error.errors?.map((e) => e.path).sort()).toEqual(["email", "items.0.quantity", "items.1.productId"]);
    for (const fieldError of error.errors ?? []) expect(fieldError.message.length).toBeGreaterThan(0);
  });

  it("names what was validated in the detail", async () => {
    const error = await problemFrom(() => parseOrThrow(z.object({ page: z.number() }), {}, "query string"));
    expect(error.detail).toBe("The query string is not valid.");
    expect(error.errors?.map((e) => e.path)).toEqual(["page"]);
  });

  it('reports an error on the value itself with the path "(root)"', async () => {
    const error = await problemFrom(() => parseOrThrow(Order, "a string"));
    expect(error.errors).toEqual([{ path: "(root)", message: expect.any(String) }]);
  });
});

describe("fieldErrors", () => {
  it("joins nested paths with dots and keeps the messages", () => {
    const result = z.object({ a: z.object({ b: z.array(z.string()) }) }).safeParse({ a: { b: ["x", 1] } });
    expect(result.success).toBe(false);
    expect(fieldErrors((result as { error: z.ZodError }).error)).toEqual([
      { path: "a.b.1", message: expect.stringMatching(/string/i) },
    ]);
  });
});

describe("readJson", () => {
  it.each(["application/json-seq", "application/jsonx", "text/json"])(
    "refuses the non-JSON type %s with 415",
    async (type) => {
      const request = new Request("http://x", { method: "POST", headers: { "content-type": type }, body: "{}" });
      await expect(readJson(request)).rejects.toMatchObject({ code: "unsupported_media_type" });
    },
  );

  it.each(["application/json", "application/json; charset=utf-8", "application/merge-patch+json"])(
    "accepts %s",
    async (type) => {
      const request = new Request("http://x", { method: "POST", headers: { "content-type": type }, body: '{"a":1}' });
      await expect(readJson(request)).resolves.toEqual({ a: 1 });
    },
  );

  it.each(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"])(
    "reads a JSON body sent as %s",
    async (type) => {
      expect(await readJson(post('{"a":[1,2]}', type))).toEqual({ a: [1, 2] });
    },
  );

  it.each([
    { why: "text/plain", type: "text/plain" },
    { why: "a form", type: "application/x-www-form-urlencoded" },
    { why: "no content type", type: undefined },
    { why: "a look-alike type", type: "application/jsonx" },
  ])("refuses a body sent as $why with 415 unsupported_media_type", async ({ type }) => {
    const error = await problemFrom(() => readJson(post('{"a":1}', type)));
    expect(error.code).toBe("unsupported_media_type");
    expect(error.status).toBe(415);
  });

  it.each(['{"a":', "", "{'a':1}", "undefined"])("refuses the malformed JSON %j with 400 bad_request", async (body) => {
    const error = await problemFrom(() => readJson(post(body, "application/json")));
    expect(error.code).toBe("bad_request");
    expect(error.status).toBe(400);
    expect(error.detail).toBe("The request body is not valid JSON.");
  });
});

describe("readBody", () => {
  it("reads and validates in one step", async () => {
    const body = JSON.stringify({ email: "ann@example.com", items: [{ productId: "prd_1", quantity: 1 }] });
    expect(await readBody(post(body, "application/json"), Order)).toEqual(JSON.parse(body));
  });

  it("answers valid JSON that breaks the schema with validation_failed", async () => {
    const error = await problemFrom(() =>
      readBody(post('{"email":"ann@example.com","items":[]}', "application/json"), Order),
    );
    expect(error.code).toBe("validation_failed");
    expect(error.errors?.map((e) => e.path)).toEqual(["items"]);
  });
});
