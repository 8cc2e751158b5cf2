import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { UsersRepository } from "../../workers/users/src/repository";
import {
  call,
  DEFAULT_PASSWORD,
  expectFieldError,
  expectProblem,
  refreshOk,
  refreshTokenHash,
  refreshTokenRow,
  registerAndLogin,
  registerUser,
  testOutbox,
  uniqueEmail,
  userRow,
} from "./helpers";

describe("session lifetime and housekeeping", () => {
  it("keeps the login's expiry through rotations (absolute session lifetime)", async () => {
    const { tokens } = await registerAndLogin();
    const first = await refreshTokenRow(tokens.refreshToken);
    const second = await refreshOk(tokens.refreshToken);
    const third = await refreshOk(second.refreshToken);
    expect((await refreshTokenRow(third.refreshToken))?.expires_at).toBe(first?.expires_at);
  });

  it("starts no session when the password changed after it was checked", async () => {
    const { user } = await registerUser();
    const repo = new UsersRepository(env.DB, testOutbox());
    const stored = await repo.findById(user.id);
    const staleHash = "c3RhbGUtaGFzaA==";
    const started = await repo.insertFirstRefreshToken({
      hash: await refreshTokenHash("race-token"),
      userId: user.id,
      familyId: crypto.randomUUID(),
      now: 1,
      expiresAt: 2_000_000_000,
      verifiedPasswordHash: staleHash,
    });
    expect(started).toBe(false);
    expect(await refreshTokenRow("race-token")).toBeNull();
    const current = await repo.insertFirstRefreshToken({
      hash: await refreshTokenHash("fresh-token"),
      userId: user.id,
      familyId: crypto.randomUUID(),
      now: 1,
      expiresAt: 2_000_000_000,
      verifiedPasswordHash: stored?.password.hash ?? "",
    });
    expect(current).toBe(true);
  });

  it("deletes refresh tokens expired for over a day, in bounded batches, and nothing else", async () => {
    const { user, tokens } = await registerAndLogin();
    const now = Math.floor(Date.now() / 1000);
    const insert = env.DB.prepare(
      "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES (?, ?, 'old', ?, ?)",
    );
    await env.DB.batch(
      Array.from({ length: 5 }, (_, i) =>
        insert.bind(`old-${user.id}-${i}`, user.id, now - 10 * 86_400, now - 2 * 86_400),
      ),
    );
    await env.DB.batch([insert.bind(`recent-${user.id}`, user.id, now - 86_400, now - 3600)]);
    const repo = new UsersRepository(env.DB, testOutbox());
    const count = () =>
      env.DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    const before = (await count())?.n ?? 0;
    expect(await repo.deleteExpiredRefreshTokens(now, 3)).toBeLessThanOrEqual(3);
    await repo.deleteExpiredRefreshTokens(now);
    await repo.deleteExpiredRefreshTokens(now);
    expect((await count())?.n).toBe(before - 5);
    // The live session and the recently expired token are still there.
    expect(await refreshTokenRow(tokens.refreshToken)).not.toBeNull();
    const recent = await env.DB.prepare("SELECT 1 AS x FROM refresh_tokens WHERE token_hash = ?")
      .bind(`recent-${user.id}`)
      .first();
    expect(recent).not.toBeNull();
  });
});

describe("input edges", () => {
  it("names each unknown field in the problem's errors", async () => {
    const response = await call("/api/auth/register", {
      body: { email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "A", role: "admin", isAdmin: true },
    });
    const problem = await expectFieldError(response, "role");
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(["isAdmin", "role"]);
  });

  it("refuses control characters in names", async () => {
    const response = await call("/api/auth/register", {
      body: { email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "evil\u0000name" },
    });
    await expectFieldError(response, "name");
  });

  it("answers another user's profile with 403 before looking at the body", async () => {
    const { user: victim } = await registerUser();
    const { user: mallory } = await registerUser();
    const response = await call(`/api/users/${victim.id}`, {
      method: "PATCH",
      as: { id: mallory.id, role: "customer" },
      body: { nonsense: true },
    });
    await expectProblem(response, 403, "forbidden");
    const role = await call(`/api/users/${victim.id}/role`, {
      method: "PUT",
      as: { id: mallory.id, role: "customer" },
      body: { role: "superuser" },
    });
    await expectProblem(role, 403, "insufficient_scope");
    expect((await userRow(victim.id))?.role).toBe("customer");
  });
});
