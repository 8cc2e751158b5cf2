/**
 * The bench's data, the same for both stacks: N users (each with its own client address), one
 * access token per user signed with the run's ES256 key (the claims shop-users issues), and, for
 * edge-shop's orders, one product with stock no run exhausts. Rows are written straight to the
 * databases: a thousand registrations would measure PBKDF2, not the read.
 */
import { createPublicKey } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import type { Miniflare } from "miniflare";

export interface BenchUser {
  id: string;
  email: string;
  /** The client address its requests come from (CF-Connecting-IP / X-Forwarded-For). */
  ip: string;
  token: string;
}

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** A valid id (`prefix_` and 26 Crockford base32 characters) numbered `n`. */
function benchId(prefix: string, n: number): string {
  let digits = "";
  for (let rest = n; digits.length < 11; rest = Math.floor(rest / 32)) digits = ALPHABET[rest % 32] + digits;
  return `${prefix}_01m6b5cjm0bench${digits}`;
}

export const PRODUCT_ID = benchId("prd", 1);

export async function makeUsers(
  count: number,
  signingKey: string,
  claims: { issuer: string; audience: string },
): Promise<BenchUser[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    id: benchId("usr", i + 1),
    email: `bench-${i + 1}@example.com`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    token: "",
  }));
  await signTokens(users, signingKey, claims);
  return users;
}

/**
 * Gives every user a fresh access token with the claims shop-users issues, living 900 s (the
 * gateway refuses a longer lifetime): the bench signs them again before each round.
 */
export async function signTokens(
  users: BenchUser[],
  signingKey: string,
  claims: { issuer: string; audience: string },
): Promise<void> {
  const jwk = JSON.parse(signingKey) as { kid: string };
  const key = await importJWK(jwk, "ES256");
  const now = Math.floor(Date.now() / 1000);
  for (const user of users) {
    user.token = await new SignJWT({ role: "customer" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: jwk.kid })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .setJti(crypto.randomUUID())
      .sign(key);
  }
}

/** The public half of the signing key as PEM, for jsonwebtoken. */
export function publicPem(signingKey: string): string {
  const { kty, crv, x, y } = JSON.parse(signingKey);
  return createPublicKey({ key: { kty, crv, x, y }, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
}

export function jwks(signingKey: string) {
  const { kty, crv, x, y, kid } = JSON.parse(signingKey);
  return { keys: [{ kty, crv, x, y, kid, alg: "ES256", use: "sig" }] };
}

const USER_COLUMNS =
  "(id, email, name, role, password_hash, password_salt, password_iterations, created_at, updated_at)";
const at = "2026-11-01T09:00:00.000Z";

/**
 * The users in users-db, their contacts in notifications-db (what their user.created events would
 * have left there, so order messages are sent, not deferred) and the product in catalog-db.
 */
export async function seedEdge(mf: Miniflare, users: readonly BenchUser[]): Promise<void> {
  const db = await mf.getD1Database("DB", "shop-users");
  for (let i = 0; i < users.length; i += 100) {
    await db.batch(
      users
        .slice(i, i + 100)
        .map((u) =>
          db
            .prepare(`INSERT INTO users ${USER_COLUMNS} VALUES (?, ?, ?, 'customer', 'x', 'x', 1, ?, ?)`)
            .bind(u.id, u.email, "Bench", at, at),
        ),
    );
  }
  const contacts = await mf.getD1Database("DB", "shop-notifications");
  for (let i = 0; i < users.length; i += 100) {
    await contacts.batch(
      users
        .slice(i, i + 100)
        .map((u) =>
          contacts
            .prepare(
              "INSERT INTO contacts (user_id, email, name, role, sequence, updated_at) VALUES (?, ?, 'Bench', 'customer', 1, ?)",
            )
            .bind(u.id, u.email, at),
        ),
    );
  }
  const catalog = await mf.getD1Database("DB", "shop-catalog");
  await catalog
    .prepare(
      `INSERT INTO products (id, name, description, price_cents, currency, available, reserved, sold, stocked, created_at, updated_at)
       VALUES (?, 'Bench mug', '', 1200, 'EUR', 1000000000, 0, 0, 1000000000, ?, ?)`,
    )
    .bind(PRODUCT_ID, at, at)
    .run();
}

/** The users in the Express stack's SQLite file (node:sqlite). */
export async function seedSqlite(path: string, users: readonly BenchUser[]): Promise<void> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(path);
  db.exec(`CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    role TEXT NOT NULL, created_at TEXT NOT NULL)`);
  const insert = db.prepare(
    "INSERT INTO users (id, email, name, role, created_at) VALUES (?, ?, 'Bench', 'customer', ?)",
  );
  db.exec("BEGIN");
  for (const u of users) insert.run(u.id, u.email, at);
  db.exec("COMMIT");
  db.close();
}
