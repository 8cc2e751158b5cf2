import type * as z from "zod";
import { fail, type Result } from "../../shared/src/result";
import { fieldErrors } from "../../shared/src/validation";

/** Bad RPC input is an answer, not an exception: a `validation_failed` result naming every field. */
export function invalidInput(error: z.ZodError, what: string): Result<never> {
  const fields = fieldErrors(error).map((e) => `${e.path}: ${e.message}`);
  return fail("validation_failed", `The ${what} is not valid (${fields.join("; ")}).`);
}
