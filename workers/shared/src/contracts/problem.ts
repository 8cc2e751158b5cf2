import * as z from "zod";

export const FieldErrorSchema = z.object({ path: z.string(), message: z.string() });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    errors: z.array(FieldErrorSchema).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });
