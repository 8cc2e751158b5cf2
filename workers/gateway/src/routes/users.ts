import * as z from "zod";
import {
  ChangePasswordInputSchema,
  LoginInputSchema,
  RefreshInputSchema,
  RegisterInputSchema,
  RoleInputSchema,
  TokenPairSchema,
  UserIdSchema,
  UserPatchSchema,
  UserSchema,
} from "#shared/contracts/users";
import { LOCATION } from "./responses";
import type { ProxyRoute } from "./table";

/**
 * 401 means the caller is not authenticated, and always comes with WWW-Authenticate: the access
 * token is missing or bad, or a login failed (`code: login_failed`, SPEC.md's one 401 for any bad
 * credential; the caller had no session to lose). A wrong credential in the body of a request
 * whose access token is fine (the current password, a refresh token) is a 400 with its own `code`
 * (as OAuth 2's token endpoint answers `invalid_grant`), so a client never mistakes it for a dead session.
 */
const BAD_LOGIN = "A wrong email or password (`code: login_failed`, one answer for both)";
const BAD_REFRESH =
  "Invalid input, or a refresh token that is unknown, used, revoked or not yours (`code: invalid_grant`)";

const users = (env: Env) => env.USERS;
const UserParams = z.object({ id: UserIdSchema });

/** Public routes served by shop-users. */
export const USER_ROUTES: ProxyRoute[] = [
  {
    method: "post",
    path: "/api/auth/register",
    operationId: "register",
    summary: "Create an account",
    tag: "auth",
    access: "public",
    service: users,
    body: RegisterInputSchema,
    success: { status: 201, description: "The new user", schema: UserSchema, headers: { Location: LOCATION } },
    errors: [409],
    errorDescriptions: { 409: "An account with this email exists (`code: email_taken`)" },
  },
  {
    method: "post",
    path: "/api/auth/login",
    operationId: "login",
    summary: "Exchange email and password for tokens",
    tag: "auth",
    access: "public",
    service: users,
    body: LoginInputSchema,
    success: { status: 200, description: "An access and a refresh token", schema: TokenPairSchema },
    errors: [401],
    errorDescriptions: { 401: BAD_LOGIN },
  },
  {
    method: "post",
    path: "/api/auth/refresh",
    operationId: "refresh",
    summary: "Rotate a refresh token for a new pair",
    tag: "auth",
    access: "public",
    service: users,
    body: RefreshInputSchema,
    success: { status: 200, description: "A new pair; the old refresh token is dead", schema: TokenPairSchema },
    errorDescriptions: { 400: BAD_REFRESH },
  },
  {
    method: "post",
    path: "/api/auth/logout",
    operationId: "logout",
    summary: "Revoke a refresh token's session",
    tag: "auth",
    access: "user",
    service: users,
    body: RefreshInputSchema,
    success: { status: 204, description: "Revoked" },
    errorDescriptions: { 400: BAD_REFRESH },
  },
  {
    method: "post",
    path: "/api/auth/password",
    operationId: "changePassword",
    summary: "Change password (revokes every refresh token); rate limited per user like login",
    tag: "auth",
    access: "user",
    service: users,
    body: ChangePasswordInputSchema,
    success: { status: 204, description: "Changed" },
    errorDescriptions: { 400: "Invalid input, or the current password is wrong (`code: invalid_credentials`)" },
  },
  {
    method: "get",
    path: "/api/users/me",
    operationId: "getMe",
    summary: "Your profile",
    tag: "users",
    access: "user",
    service: users,
    success: { status: 200, description: "The caller", schema: UserSchema },
  },
  {
    method: "patch",
    path: "/api/users/me",
    operationId: "updateMe",
    summary: "Update your own name, email or phone (`me` is the caller's id)",
    tag: "users",
    access: "user",
    service: users,
    body: UserPatchSchema,
    success: { status: 200, description: "The updated user", schema: UserSchema },
    errors: [409],
    errorDescriptions: { 409: "Another account has this email (`code: email_taken`)" },
  },
  {
    method: "get",
    path: "/api/users/{id}",
    operationId: "getUser",
    summary: "A profile (self or admin)",
    tag: "users",
    access: { selfOrAdmin: "id" },
    service: users,
    params: UserParams,
    success: { status: 200, description: "The user", schema: UserSchema },
    errors: [404],
  },
  {
    method: "patch",
    path: "/api/users/{id}",
    operationId: "updateUser",
    summary: "Update name, email or phone (self or admin)",
    tag: "users",
    access: { selfOrAdmin: "id" },
    service: users,
    params: UserParams,
    body: UserPatchSchema,
    success: { status: 200, description: "The updated user", schema: UserSchema },
    errors: [404, 409],
  },
  {
    method: "put",
    path: "/api/users/{id}/role",
    operationId: "setRole",
    summary: "Set a user's role",
    tag: "users",
    access: "admin",
    service: users,
    params: UserParams,
    body: RoleInputSchema,
    success: { status: 200, description: "The updated user", schema: UserSchema },
    errors: [404, 409],
    errorDescriptions: { 409: "That would leave no admin (`code: last_admin`)" },
  },
];
