/**
 * What the gateway's bundle gets for `zod` (the root wrangler.toml aliases it here): zod's whole
 * API by name, from `zod/v4` (the same modules `zod` itself re-exports), so the bundler keeps only
 * what is used. The one difference is the `z` object: `@hono/zod-openapi` imports `{ z }` and
 * hands it to `extendZodWithOpenApi`, which reads `z.ZodType` only; importing zod's real `z`
 * namespace object would keep every export in the bundle (its locale table, JSON-schema import,
 * the compiler: about 45 KiB gzipped) and push the gateway over 100 KiB. No gateway code imports
 * `z` from `@hono/zod-openapi` (test/unit/bundle-size.unit.test.ts checks).
 */
import { ZodType } from "zod/v4";

export * from "zod/v4";

export const z = { ZodType };
