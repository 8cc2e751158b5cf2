import * as z from "zod";
import { RoleSchema } from "../identity";

export { RoleSchema };

/** Emails compare case-insensitively: we store and compare them lowercased. */
export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ error: "Must be an email address." }))
  .transform((email) => email.toLowerCase())
  .meta({ format: "email", maxLength: 254, examples: ["alice@example.com"] });

export const PasswordSchema = z
  .string()
  .min(12, { error: "Must be at least 12 characters." })
  .max(128, { error: "Must be at most 128 characters." });

export const PhoneSchema = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, { error: "Must be an E.164 number like +14155550123." });

export const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  // \p{Cc} spelled as its ranges and without the /u flag, so the published pattern is plain
  // ECMA-262 that every JSON Schema validator reads (a flag cannot travel in a pattern string).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  .regex(/^[^\x00-\x1f\x7f-\x9f]*$/, { error: "Must not contain control characters." })
  .meta({ examples: ["Alice"] });

export const UserIdSchema = z.string().regex(/^usr_[0-9a-hjkmnp-tv-z]{26}$/, { error: "Not a user id." });

export const RegisterInputSchema = z
  .strictObject({ email: EmailSchema, password: PasswordSchema, name: NameSchema, phone: PhoneSchema.optional() })
  .meta({
    id: "RegisterInput",
    examples: [{ email: "alice@example.com", password: "correct horse battery", name: "Alice", phone: "+14155550123" }],
  });

export const LoginInputSchema = z
  .strictObject({ email: EmailSchema, password: z.string().min(1).max(128) })
  .meta({ id: "LoginInput", examples: [{ email: "alice@example.com", password: "correct horse battery" }] });

export const RefreshInputSchema = z
  .strictObject({ refreshToken: z.string().min(1).max(512) })
  .meta({ id: "RefreshInput", examples: [{ refreshToken: "kq3L0t3m9cX1n0bPZ7ux3w8w7Yc9hLrT2m4vQe6sJd0" }] });

export const ChangePasswordInputSchema = z
  .strictObject({ currentPassword: z.string().min(1).max(128), newPassword: PasswordSchema })
  .meta({
    id: "ChangePasswordInput",
    examples: [{ currentPassword: "correct horse battery", newPassword: "a longer and newer passphrase" }],
  });

/** Only these fields can be patched; anything else (a `role`, say) is a 400. */
export const UserPatchSchema = z
  .strictObject({
    name: NameSchema.optional(),
    email: EmailSchema.optional(),
    phone: PhoneSchema.nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: "Give at least one of name, email, phone." })
  .meta({ id: "UserPatch", minProperties: 1, examples: [{ name: "Alice Liddell" }] });

export const RoleInputSchema = z
  .strictObject({ role: RoleSchema })
  .meta({ id: "RoleInput", examples: [{ role: "admin" }] });

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string().meta({ format: "email" }),
    name: z.string(),
    phone: z.string().nullable(),
    role: RoleSchema,
    createdAt: z.string(),
  })
  .meta({ id: "User" });

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int(),
  })
  .meta({ id: "TokenPair" });

export const PublicJwkSchema = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string(),
  y: z.string(),
  kid: z.string(),
  alg: z.literal("ES256"),
  use: z.literal("sig"),
});

export const JwksSchema = z.object({ keys: z.array(PublicJwkSchema) }).meta({ id: "JWKS" });

export type RegisterInput = z.infer<typeof RegisterInputSchema>;
export type LoginInput = z.infer<typeof LoginInputSchema>;
export type UserPatch = z.infer<typeof UserPatchSchema>;
export type User = z.infer<typeof UserSchema>;
export type TokenPair = z.infer<typeof TokenPairSchema>;
export type PublicJwk = z.infer<typeof PublicJwkSchema>;
export type Jwks = z.infer<typeof JwksSchema>;
