import { describe, expect, it } from "vitest";
import { ERROR_CODES, statusOf } from "#shared/errors";
import {
  codeForStatus,
  PROBLEM_CONTENT_TYPE,
  ProblemException,
  problemDocument,
  problemResponse,
} from "#shared/problem";

const REQUEST_ID = "2f1c3a3e-8a8b-4d1e-9f3e-5b0c7c1d2e3f";

describe("problemDocument", () => {
  it("fills every RFC 9457 member from the error table, with the request id as a urn:uuid instance", () => {
    expect(problemDocument("not_found", "No product prd_123.", REQUEST_ID)).toEqual({
      type: "https://edge-shop.dev/problems/not-found",
      title: "Not Found",
      status: 404,
      detail: "No product prd_123.",
      instance: `urn:uuid:${REQUEST_ID}`,
      code: "not_found",
    });
  });

  it("turns every underscore of the code into a dash in the type URI", () => {
    expect(problemDocument("unsupported_media_type", "d", REQUEST_ID).type).toBe(
      "https://edge-shop.dev/problems/unsupported-media-type",
    );
  });

  it("lists field errors when there are some", () => {
    const errors = [{ path: "items.0.quantity", message: "Too small" }];
    expect(problemDocument("validation_failed", "The request body is not valid.", REQUEST_ID, errors)).toEqual({
      type: "https://edge-shop.dev/problems/validation-failed",
      title: "Validation Failed",
      status: 400,
      detail: "The request body is not valid.",
      instance: `urn:uuid:${REQUEST_ID}`,
      code: "validation_failed",
      errors,
    });
  });

  it("leaves out the errors member when the list is empty or absent", () => {
    expect(problemDocument("validation_failed", "d", REQUEST_ID, [])).not.toHaveProperty("errors");
    expect(problemDocument("validation_failed", "d", REQUEST_ID)).not.toHaveProperty("errors");
  });
});

describe("problemResponse", () => {
  it("answers with the code's status, application/problem+json and the document as body", async () => {
    const response = problemResponse("rate_limited", "Too many requests; retry later.", REQUEST_ID, {
      headers: { "retry-after": "15" },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(PROBLEM_CONTENT_TYPE).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBe("15");
    expect(await response.json()).toEqual({
      type: "https://edge-shop.dev/problems/rate-limited",
      title: "Too Many Requests",
      status: 429,
      detail: "Too many requests; retry later.",
      instance: `urn:uuid:${REQUEST_ID}`,
      code: "rate_limited",
    });
  });

  it("carries field errors in the body", async () => {
    const errors = [{ path: "email", message: "Invalid email" }];
    const response = problemResponse("validation_failed", "bad", REQUEST_ID, { errors });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: unknown }).errors).toEqual(errors);
  });
});

describe("codeForStatus", () => {
  it.each([
    [400, "bad_request"],
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [405, "method_not_allowed"],
    [409, "conflict"],
    [413, "payload_too_large"],
    [415, "unsupported_media_type"],
    [422, "unprocessable"],
    [429, "rate_limited"],
    [431, "header_too_large"],
    [500, "internal"],
    [502, "bad_gateway"],
    [503, "unavailable"],
    [504, "timeout"],
  ])("maps status %i to the first code of the table with that status, %s", (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it.each([
    [418, "bad_request"],
    [451, "bad_request"],
    [501, "internal"],
    [599, "internal"],
  ])("maps the status %i that is not in the table to %s", (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });
});

describe("ProblemException", () => {
  it("takes its status from the error table and keeps code, detail, errors, headers and the internal message", () => {
    const errors = [{ path: "name", message: "Required" }];
    const error = new ProblemException("validation_failed", {
      detail: "The request body is not valid.",
      errors,
      headers: { "x-a": "1" },
      internal: "zod said so",
    });
    expect(error.status).toBe(400);
    expect(error.message).toBe("The request body is not valid.");
    expect(error).toMatchObject({
      code: "validation_failed",
      detail: "The request body is not valid.",
      errors,
      headers: { "x-a": "1" },
      internal: "zod said so",
    });
  });

  it("defaults to no extra headers", () => {
    expect(new ProblemException("not_found", { detail: "gone" }).headers).toEqual({});
  });
});

describe("the error table", () => {
  it("gives every code a 4xx or 5xx status and a title", () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(statusOf(code as keyof typeof ERROR_CODES)).toBe(entry.status);
      expect(entry.status >= 400 && entry.status <= 599).toBe(true);
      expect(entry.title.length).toBeGreaterThan(0);
    }
  });
});
