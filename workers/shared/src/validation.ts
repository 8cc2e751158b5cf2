import type * as z from "zod";
import type { FieldError } from "./errors";
import { ProblemException } from "./problem";
import { fail, ok, type Result } from "./result";

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.map(String);
    // An unknown key is an error of that key: name it in the path, one entry per key.
    const paths = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...at, key]) : [at];
    return paths.map((path) => ({
      path: path.length > 0 ? path.join(".") : "(root)",
      message: issue.code === "unrecognized_keys" ? "Unknown field." : issue.message,
    }));
  });
}

/** Parses a value with a schema or throws the 400 problem listing every field error. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ProblemException("validation_failed", {
      detail: `The ${what} is not valid.`,
      errors: fieldErrors(result.error),
    });
  }
  return result.data;
}

/**
 * Parses an RPC method's input: a `validation_failed` result value naming every field on bad
 * input, never a throw across the binding.
 */
export function parseResult<S extends z.ZodType>(schema: S, value: unknown, what = "input"): Result<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const fields = fieldErrors(parsed.error).map((e) => `${e.path}: ${e.message}`);
  return fail("validation_failed", `The ${what} is not valid (${fields.join("; ")}).`);
}

/** Reads a JSON body as `unknown`, answering malformed JSON or a non-JSON type with a 400/415 problem. */
export async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
    await request.body?.cancel(); // never leave an unread body behind a response
    throw new ProblemException("unsupported_media_type", { detail: "Send the body as application/json." });
  }
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemException("bad_request", { detail: "The request body is not valid JSON." });
  }
}

/** Reads and validates a JSON body in one step. */
export async function readBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  return parseOrThrow(schema, await readJson(request));
}
