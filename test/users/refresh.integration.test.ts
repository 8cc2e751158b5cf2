import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  call,
  expectFieldError,
  expectProblem,
  loginOk,
  refresh,
  refreshOk,
  refreshTokenHash,
  refreshTokenRow,
  registerAndLogin,
  registerUser,
  type TokenPair,
} from "./helpers";

describe("POST /api/auth/refresh", () => {
  it("rotates: a new pair for the same user, not cached, and the old refresh token is dead", async () => {
    const { user, tokens } = await registerAndLogin();

    const response = await refresh(tokens.refreshToken);

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const rotated = (await response.json()) as TokenPair;
    expect(rotated).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tokenType: "Bearer",
      expiresIn: 900,
    });
    expect(rotated.refreshToken).not.toBe(tokens.refreshToken);
    expect(decodeJwt(rotated.accessToken)).toMatchObject({ sub: user.id, role: "customer" });
    expect(decodeJwt(rotated.accessToken).jti).not.toBe(decodeJwt(tokens.accessToken).jti);

    await expectProblem(await refresh(tokens.refreshToken), 400, "invalid_grant");
  });

  it("keeps the rotated token in the family of the login and records its successor", async () => {
    const { tokens } = await registerAndLogin();

    const rotated = await refreshOk(tokens.refreshToken);

    const old = await refreshTokenRow(tokens.refreshToken);
    const successor = await refreshTokenRow(rotated.refreshToken);
    expect(successor).not.toBeNull();
    expect(successor?.family_id).toBe(old?.family_id);
    expect(old?.replaced_by).toBe(await refreshTokenHash(rotated.refreshToken));
    expect(successor?.replaced_by).toBeNull();
    expect(successor?.revoked_at).toBeNull();
  });

  it("lets the newest token of a chain keep rotating", async () => {
    const { tokens } = await registerAndLogin();

    const second = await refreshOk(tokens.refreshToken);
    const third = await refreshOk(second.refreshToken);
    const fourth = await refreshOk(third.refreshToken);

    expect(new Set([tokens.refreshToken, second.refreshToken, third.refreshToken, fourth.refreshToken]).size).toBe(4);
  });

  it("revokes the whole family when an already rotated token is presented again", async () => {
    const { tokens } = await registerAndLogin();
    const second = await refreshOk(tokens.refreshToken);
    const newest = await refreshOk(second.refreshToken);

    await expectProblem(await refresh(tokens.refreshToken), 400, "invalid_grant");

    await expectProblem(await refresh(newest.refreshToken), 400, "invalid_grant");
    const family = (await refreshTokenRow(tokens.refreshToken))?.family_id;
    const { results } = await env.DB.prepare("SELECT revoked_at FROM refresh_tokens WHERE family_id = ?")
      .bind(family)
      .all<{ revoked_at: number | null }>();
    expect(results).toHaveLength(3);
    expect(results.every((row) => row.revoked_at !== null)).toBe(true);
  });

  it("revokes only the family of the reused token, not the user's other sessions", async () => {
    const { email, password, tokens: firstSession } = await registerAndLogin();
    const otherSession = await loginOk(email, password);
    await refreshOk(firstSession.refreshToken);

    await expectProblem(await refresh(firstSession.refreshToken), 400, "invalid_grant");

    await refreshOk(otherSession.refreshToken);
  });

  it("admits exactly one of two concurrent refreshes with the same token", async () => {
    const { tokens } = await registerAndLogin();

    const responses = await Promise.all([refresh(tokens.refreshToken), refresh(tokens.refreshToken)]);

    expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
    const refused = responses.find((r) => r.status === 400) as Response;
    await expectProblem(refused, 400, "invalid_grant");
    // Only one successor was ever written.
    const family = (await refreshTokenRow(tokens.refreshToken))?.family_id;
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = ?")
      .bind(family)
      .first<{ n: number }>();
    expect(count?.n).toBe(2);
  });

  it("treats the losing concurrent refresh as reuse, so the winner's new token is revoked too", async () => {
    const { tokens } = await registerAndLogin();

    const responses = await Promise.all([refresh(tokens.refreshToken), refresh(tokens.refreshToken)]);

    const winner = responses.find((r) => r.status === 200) as Response;
    const { refreshToken } = (await winner.json()) as { refreshToken: string };
    await expectProblem(await refresh(refreshToken), 400, "invalid_grant");
  });

  it("refuses an expired refresh token", async () => {
    const { tokens } = await registerAndLogin();
    const past = Math.floor(Date.now() / 1000) - 1;
    await env.DB.prepare("UPDATE refresh_tokens SET expires_at = ? WHERE token_hash = ?")
      .bind(past, await refreshTokenHash(tokens.refreshToken))
      .run();

    await expectProblem(await refresh(tokens.refreshToken), 400, "invalid_grant");

    // Refused, not rotated: no successor was written.
    expect((await refreshTokenRow(tokens.refreshToken))?.replaced_by).toBeNull();
  });

  it("refuses a random string with the same problem as a dead token", async () => {
    const { tokens } = await registerAndLogin();
    await refreshOk(tokens.refreshToken);

    const random = await expectProblem(await refresh(crypto.randomUUID()), 400, "invalid_grant");
    const dead = await expectProblem(await refresh(tokens.refreshToken), 400, "invalid_grant");

    expect(random.detail).toBe(dead.detail);
    expect(random.title).toBe(dead.title);
  });

  it("reflects a role change in the access token it issues", async () => {
    const { user, tokens } = await registerAndLogin();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(user.id).run();

    const rotated = await refreshOk(tokens.refreshToken);

    expect(decodeJwt(rotated.accessToken).role).toBe("admin");
  });

  it("answers 400 naming refreshToken for an empty or missing token", async () => {
    await expectFieldError(await call("/api/auth/refresh", { body: { refreshToken: "" } }), "refreshToken");
    await expectFieldError(await call("/api/auth/refresh", { body: {} }), "refreshToken");
  });
});

describe("POST /api/auth/logout", () => {
  it("needs an identity", async () => {
    const { tokens } = await registerAndLogin();

    await expectProblem(
      await call("/api/auth/logout", { body: { refreshToken: tokens.refreshToken } }),
      401,
      "unauthorized",
    );

    // Nothing was revoked.
    await refreshOk(tokens.refreshToken);
  });

  it("ignores an identity header with a role that is not a role", async () => {
    const { user, tokens } = await registerAndLogin();

    const response = await call("/api/auth/logout", {
      body: { refreshToken: tokens.refreshToken },
      headers: { "x-shop-user-id": user.id, "x-shop-user-role": "superuser" },
    });

    await expectProblem(response, 401, "unauthorized");
  });

  it("answers 204 and kills the refresh token", async () => {
    const { identity, tokens } = await registerAndLogin();

    const response = await call("/api/auth/logout", { as: identity, body: { refreshToken: tokens.refreshToken } });

    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    await expectProblem(await refresh(tokens.refreshToken), 400, "invalid_grant");
  });

  it("revokes the whole session: the newest token of the chain dies too, other sessions live", async () => {
    const { email, password, identity, tokens } = await registerAndLogin();
    const otherSession = await loginOk(email, password);
    const newest = await refreshOk(tokens.refreshToken);

    const response = await call("/api/auth/logout", { as: identity, body: { refreshToken: newest.refreshToken } });

    expect(response.status).toBe(204);
    await expectProblem(await refresh(newest.refreshToken), 400, "invalid_grant");
    await refreshOk(otherSession.refreshToken);
  });

  it("does not let a user log out another user's refresh token", async () => {
    const victim = await registerAndLogin();
    const attacker = await registerUser();

    const response = await call("/api/auth/logout", {
      as: attacker.identity,
      body: { refreshToken: victim.tokens.refreshToken },
    });

    await expectProblem(response, 400, "invalid_grant");
    expect((await refreshTokenRow(victim.tokens.refreshToken))?.revoked_at).toBeNull();
    await refreshOk(victim.tokens.refreshToken);
  });

  it("answers 400 invalid_grant for an unknown refresh token", async () => {
    const { identity } = await registerUser();

    const response = await call("/api/auth/logout", { as: identity, body: { refreshToken: crypto.randomUUID() } });

    await expectProblem(response, 400, "invalid_grant");
  });
});
