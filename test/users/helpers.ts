import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { Outbox } from "#queues/outbox";
import {
  type CallOptions,
  expectProblem,
  type Identity,
  type Problem,
  type Role,
  serviceRequest,
} from "../support/service-http";

export {
  type CallOptions,
  expectProblem,
  type Identity,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type Role,
} from "../support/service-http";

/**
 * Helpers for the shop-users integration tests. The tests play the gateway: they call the Worker's
 * HTTP app through its entrypoint and pass the verified identity in the headers the gateway sets.
 */

export interface User {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  role: Role;
  createdAt: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

export const DEFAULT_PASSWORD = "correct horse battery staple";

/** A valid user id that no test ever registers. */
export const UNKNOWN_USER_ID = "usr_00000000000000000000000000";

export function uniqueEmail(label = "user"): string {
  return `${label}-${crypto.randomUUID()}@example.com`;
}

/** One request to the users HTTP app, as the gateway forwards it. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(serviceRequest("users", path, options));
}

export interface RegisterFields {
  email?: string;
  password?: string;
  name?: string;
  phone?: string;
}

/** Registers a new user with a unique email and returns what was registered. */
export async function registerUser(
  fields: RegisterFields = {},
): Promise<{ user: User; email: string; password: string; identity: Identity }> {
  const input = { email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "Test User", ...fields };
  const response = await call("/api/auth/register", { body: input });
  expect(response.status, await response.clone().text()).toBe(201);
  const user = (await response.json()) as User;
  return { user, email: input.email, password: input.password, identity: { id: user.id, role: user.role } };
}

/** An admin: registered as a customer, then promoted in D1 (as `npm run admin:create` would). */
export async function registerAdmin(): Promise<{ user: User; identity: Identity }> {
  const { user } = await registerUser({ name: "Admin" });
  await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(user.id).run();
  return { user: { ...user, role: "admin" }, identity: { id: user.id, role: "admin" } };
}

export function login(email: string, password: string): Promise<Response> {
  return call("/api/auth/login", { body: { email, password } });
}

export async function loginOk(email: string, password: string): Promise<TokenPair> {
  const response = await login(email, password);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as TokenPair;
}

/** Registers a user and logs in once. */
export async function registerAndLogin(
  fields: RegisterFields = {},
): Promise<{ user: User; email: string; password: string; identity: Identity; tokens: TokenPair }> {
  const registered = await registerUser(fields);
  return { ...registered, tokens: await loginOk(registered.email, registered.password) };
}

export function refresh(refreshToken: string): Promise<Response> {
  return call("/api/auth/refresh", { body: { refreshToken } });
}

export async function refreshOk(refreshToken: string): Promise<TokenPair> {
  const response = await refresh(refreshToken);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as TokenPair;
}

/** Asserts a 400 validation problem whose field errors name `field` (in the path or, for unknown keys, the message). */
export async function expectFieldError(response: Response, field: string): Promise<Problem> {
  const problem = await expectProblem(response, 400, "validation_failed");
  const named = (problem.errors ?? []).filter((e) => e.path === field || e.message.includes(`"${field}"`));
  expect(named, JSON.stringify(problem.errors)).not.toHaveLength(0);
  return problem;
}

export interface UserRow {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  role: Role;
  password_hash: string;
  password_salt: string;
  password_iterations: number;
  created_at: string;
  updated_at: string;
}

export function userRow(id: string): Promise<UserRow | null> {
  return env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(id).first<UserRow>();
}

export async function countUsersWithEmail(email: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?")
    .bind(email.toLowerCase())
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The SHA-256 (hex) under which shop-users stores a refresh token. */
export async function refreshTokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface RefreshTokenRow {
  token_hash: string;
  user_id: string;
  family_id: string;
  created_at: number;
  expires_at: number;
  replaced_by: string | null;
  revoked_at: number | null;
}

export async function refreshTokenRow(token: string): Promise<RefreshTokenRow | null> {
  return env.DB.prepare("SELECT * FROM refresh_tokens WHERE token_hash = ?")
    .bind(await refreshTokenHash(token))
    .first<RefreshTokenRow>();
}

/** An outbox for repositories used directly (as a request's would be, without its trace). */
export function testOutbox(): Outbox {
  return new Outbox(env, "shop-users", { traceparent: null, actor: { type: "system", id: "test" } });
}
