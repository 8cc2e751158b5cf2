import { env, exports } from "cloudflare:workers";
import { importJWK, type JWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from "jose";
import { inject } from "vitest";
import { ShopClient } from "../../clients/typescript/src/index";
import { contractViolations, type OpenApiDocument } from "../support/contract";

export const BASE = "https://shop.test";

let ipCounter = Math.floor(Math.random() * 200) * 256;

/** A client address no other test uses (198.18.0.0/15 is reserved for benchmarks), so buckets never mix. */
export function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 256) % 256}.${ipCounter % 256}`;
}

export interface CallOptions {
  method?: string;
  ip?: string;
  token?: string;
  json?: unknown;
  headers?: Record<string, string>;
  body?: BodyInit;
}

/** One request to the gateway, as a client on the internet would send it. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  headers.set("cf-connecting-ip", options.ip ?? freshIp());
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body = options.body;
  if (options.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.json);
  }
  return gateway(new Request(`${BASE}${path}`, { method: options.method ?? (body ? "POST" : "GET"), headers, body }));
}

/** The gateway under test (SELF) as a fetch: every answer must be one the contract documents. */
export async function gateway(request: Request): Promise<Response> {
  return conforming(request.method, new URL(request.url).pathname, await exports.default.fetch(request));
}

/**
 * The published typed client (`clients/typescript`) wired to the gateway under test: its fetch is
 * `gateway`, so each answer is also checked against the contract. One client address per client.
 * No automatic refresh on 401 and no retries on 429/503, so a test sees the status the gateway gave.
 */
export function shopClient(options: { tokens?: { accessToken: string; refreshToken: string }; ip?: string } = {}) {
  return new ShopClient({
    baseUrl: BASE,
    fetch: gateway,
    refreshOn401: false,
    maxRetries: 0,
    headers: { "cf-connecting-ip": options.ip ?? freshIp() },
    ...(options.tokens ? { tokens: { ...options.tokens, tokenType: "Bearer" as const, expiresIn: 900 } } : {}),
  });
}

/** The data of a typed-client answer that must have `status` (else the test fails with the body). */
export function expectStatus<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  if (result.response.status !== status) {
    throw new Error(
      `expected ${status}, got ${result.response.status}: ${JSON.stringify(result.error ?? result.data)}`,
    );
  }
  return result.data as T;
}

let published: Promise<OpenApiDocument> | undefined;
/** The gateway's own /openapi.json, fetched once per test file. */
export function publishedDocument(): Promise<OpenApiDocument> {
  published ??= exports.default
    .fetch(new Request(`${BASE}/openapi.json`))
    .then((response) => response.json() as Promise<OpenApiDocument>);
  return published;
}

/**
 * The contract hook: every response a system test receives through `call` must be one that
 * /openapi.json documents for its request (status, media type, body, headers), or the test fails.
 * Only the pages (docs, console) and CORS preflights are outside the contract.
 */
async function conforming(method: string, pathname: string, response: Response): Promise<Response> {
  // Pages and their assets (the docs, the console) are not API operations.
  const outside =
    method === "OPTIONS" ||
    pathname === "/openapi.json" ||
    pathname.startsWith("/docs") ||
    /^\/admin(\/|$)/.test(pathname);
  if (outside) return response;
  const body = method === "HEAD" ? "" : await response.clone().text();
  const violations = contractViolations(
    await publishedDocument(),
    { method, pathname },
    { status: response.status, headers: response.headers, body },
  );
  if (violations.length > 0) {
    throw new Error(
      `${method} ${pathname} broke the published contract:\n${violations.join("\n")}\n${body.slice(0, 500)}`,
    );
  }
  return response;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** The typed client signed in as this user. */
  shop: ShopClient;
}

let userCounter = 0;

export async function registerAndLogin(
  options: { role?: "admin" | "customer"; phone?: string } = {},
): Promise<TestUser> {
  userCounter += 1;
  const email = `user${userCounter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "a-long-enough-password";
  const shop = shopClient();
  const registered = await shop.api.POST("/api/auth/register", {
    body: { email, password, name: `User ${userCounter}`, ...(options.phone ? { phone: options.phone } : {}) },
  });
  const { id } = expectStatus(registered, 201);
  if (options.role === "admin") {
    await env.USERS_DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(id).run();
  }
  const tokens = await shop.login(email, password);
  return { id, email, password, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, shop };
}

export async function problemOf(response: Response): Promise<Record<string, unknown>> {
  if (response.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected problem+json, got ${response.headers.get("content-type")}: ${await response.text()}`);
  }
  return (await response.json()) as Record<string, unknown>;
}

/** The users service's current private signing key, as the test config generated it. */
export function currentKey(): JWK {
  return JSON.parse(inject("keys").signingKey) as JWK;
}

export function previousKey(): JWK {
  return JSON.parse(inject("keys").previousSigningKey) as JWK;
}

export const ISSUER = "https://users.edge-shop.internal";
export const AUDIENCE = "edge-shop";

/** Signs an access token like shop-users does, with any header or claim overridden for attacks. */
export async function signToken(
  key: JWK,
  options: { header?: Partial<JWTHeaderParameters>; claims?: JWTPayload; omit?: string[] } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "usr_01m875rg4c56rja44hr7x250pq",
    role: "customer",
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const privateKey = await importJWK({ ...key, alg: "ES256" }, "ES256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: key.kid as string, ...options.header })
    .sign(privateKey);
}
