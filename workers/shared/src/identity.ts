import * as z from "zod";

/**
 * Headers the gateway sets after verifying a token. It deletes any client-sent copy first, and
 * services are reachable only through service bindings, so services trust these and nothing else.
 */
export const IDENTITY_HEADERS = {
  userId: "x-shop-user-id",
  role: "x-shop-user-role",
} as const;

/** Every header in this family is stripped from client requests at the gateway. */
export const INTERNAL_HEADER_PREFIX = "x-shop-";
export const REQUEST_ID_HEADER = "x-request-id";

export const RoleSchema = z.enum(["customer", "admin"]);
export type Role = z.infer<typeof RoleSchema>;

export interface Identity {
  userId: string;
  role: Role;
}

export function readIdentity(headers: Headers): Identity | undefined {
  const userId = headers.get(IDENTITY_HEADERS.userId);
  const role = RoleSchema.safeParse(headers.get(IDENTITY_HEADERS.role));
  if (!userId || !role.success) return undefined;
  return { userId, role: role.data };
}

export function writeIdentity(headers: Headers, identity: Identity | undefined): void {
  for (const name of [...headers.keys()]) {
    if (name.toLowerCase().startsWith(INTERNAL_HEADER_PREFIX)) headers.delete(name);
  }
  if (!identity) return;
  headers.set(IDENTITY_HEADERS.userId, identity.userId);
  headers.set(IDENTITY_HEADERS.role, identity.role);
}
