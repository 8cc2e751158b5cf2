import { describe, expect, it } from "vitest";
import {
  call,
  expectFieldError,
  expectProblem,
  login,
  loginOk,
  refresh,
  refreshOk,
  refreshTokenRow,
  registerAndLogin,
  userRow,
} from "./helpers";

const NEW_PASSWORD = "a brand new passphrase";

describe("POST /api/auth/password", () => {
  it("needs an identity", async () => {
    const { password } = await registerAndLogin();

    const response = await call("/api/auth/password", {
      body: { currentPassword: password, newPassword: NEW_PASSWORD },
    });

    await expectProblem(response, 401, "unauthorized");
  });

  it("answers 400 invalid_credentials for a wrong current password and changes nothing", async () => {
    const { user, email, password, identity, tokens } = await registerAndLogin();
    const before = await userRow(user.id);

    const response = await call("/api/auth/password", {
      as: identity,
      body: { currentPassword: `${password}x`, newPassword: NEW_PASSWORD },
    });

    await expectProblem(response, 400, "invalid_credentials");
    expect(await userRow(user.id)).toEqual(before);
    await loginOk(email, password);
    await refreshOk(tokens.refreshToken);
  });

  it("refuses a new password shorter than 12 characters, naming newPassword", async () => {
    const { email, password, identity } = await registerAndLogin();

    const response = await call("/api/auth/password", {
      as: identity,
      body: { currentPassword: password, newPassword: "short" },
    });

    await expectFieldError(response, "newPassword");
    await loginOk(email, password);
  });

  it("answers 204, then only the new password logs in", async () => {
    const { user, email, password, identity } = await registerAndLogin();
    const before = await userRow(user.id);

    const response = await call("/api/auth/password", {
      as: identity,
      body: { currentPassword: password, newPassword: NEW_PASSWORD },
    });

    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    await expectProblem(await login(email, password), 401, "login_failed");
    await loginOk(email, NEW_PASSWORD);
    const after = await userRow(user.id);
    expect(after?.password_iterations).toBe(100_000);
    expect(after?.password_salt).not.toBe(before?.password_salt);
    expect(after?.password_hash).not.toBe(before?.password_hash);
  });

  it("kills every earlier refresh token of the user, in every session, but not later ones", async () => {
    const { email, password, identity, tokens: firstSession } = await registerAndLogin();
    const secondSession = await loginOk(email, password);
    const rotatedFirst = await refreshOk(firstSession.refreshToken);

    const response = await call("/api/auth/password", {
      as: identity,
      body: { currentPassword: password, newPassword: NEW_PASSWORD },
    });

    expect(response.status).toBe(204);
    await expectProblem(await refresh(rotatedFirst.refreshToken), 400, "invalid_grant");
    await expectProblem(await refresh(secondSession.refreshToken), 400, "invalid_grant");
    expect((await refreshTokenRow(secondSession.refreshToken))?.revoked_at).not.toBeNull();
    const fresh = await loginOk(email, NEW_PASSWORD);
    await refreshOk(fresh.refreshToken);
  });

  it("does not touch another user's sessions", async () => {
    const changer = await registerAndLogin();
    const bystander = await registerAndLogin();

    const response = await call("/api/auth/password", {
      as: changer.identity,
      body: { currentPassword: changer.password, newPassword: NEW_PASSWORD },
    });

    expect(response.status).toBe(204);
    await refreshOk(bystander.tokens.refreshToken);
    await loginOk(bystander.email, bystander.password);
  });
});
