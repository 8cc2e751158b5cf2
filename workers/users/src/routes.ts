import { type OutboxVariables, withOutbox } from "#queues/middleware";
import type { Outbox } from "#queues/outbox";
import {
  ChangePasswordInputSchema,
  LoginInputSchema,
  RefreshInputSchema,
  RegisterInputSchema,
  RoleInputSchema,
  UserIdSchema,
  UserPatchSchema,
} from "#shared/contracts/users";
import { requireIdentity, serviceApp } from "#shared/http";
import { ProblemException } from "#shared/problem";
import { unwrap } from "#shared/result";
import { parseOrThrow, readBody } from "#shared/validation";
import * as accounts from "./accounts";
import { tokenConfig } from "./config";
import { buildJwks, loadSigningKey } from "./keys";
import { UsersRepository } from "./repository";

type UsersApp = { Bindings: Env; Variables: OutboxVariables };

function deps(c: { env: Env; var: { outbox: Outbox } }): accounts.AccountsDeps {
  const env = c.env;
  return {
    repo: new UsersRepository(env.DB, c.var.outbox),
    signing: () => loadSigningKey(env.JWT_SIGNING_KEY),
    tokens: tokenConfig(env),
  };
}

const userIdParam = (id: string) => parseOrThrow(UserIdSchema, id, "user id");

/** The HTTP app of shop-users, reached only by the gateway over the service binding. */
export const app = serviceApp<UsersApp>("shop-users", { use: [withOutbox("shop-users")] })
  .get("/.well-known/jwks.json", async (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(await buildJwks(c.env.JWT_SIGNING_KEY, c.env.JWT_PREVIOUS_PUBLIC_KEYS));
  })
  .post("/api/auth/register", async (c) => {
    const input = await readBody(c.req.raw, RegisterInputSchema);
    const user = unwrap(await accounts.register(deps(c), input));
    c.get("log").info("user registered", { userId: user.id });
    return c.json(user, 201, { location: `/api/users/${user.id}` });
  })
  .post("/api/auth/login", async (c) => {
    const input = await readBody(c.req.raw, LoginInputSchema);
    const result = await accounts.login(deps(c), input);
    // Housekeeping rides on logins: a bounded delete of long-expired refresh tokens.
    c.executionCtx.waitUntil(deps(c).repo.deleteExpiredRefreshTokens(Math.floor(Date.now() / 1000)));
    if (!result.ok) {
      c.get("log").info("login refused");
      // One answer for every bad credential (SPEC.md): 401, and the scheme to authenticate with.
      throw new ProblemException(result.code, {
        detail: result.detail,
        headers: { "www-authenticate": 'Bearer realm="edge-shop"' },
      });
    }
    return c.json(result.value, 200, { "cache-control": "no-store" });
  })
  .post("/api/auth/refresh", async (c) => {
    const input = await readBody(c.req.raw, RefreshInputSchema);
    return c.json(unwrap(await accounts.refresh(deps(c), input.refreshToken)), 200, {
      "cache-control": "no-store",
    });
  })
  .post("/api/auth/logout", async (c) => {
    const identity = requireIdentity(c);
    const input = await readBody(c.req.raw, RefreshInputSchema);
    unwrap(await accounts.logout(deps(c), identity, input.refreshToken));
    return c.body(null, 204);
  })
  .post("/api/auth/password", async (c) => {
    const identity = requireIdentity(c);
    const input = await readBody(c.req.raw, ChangePasswordInputSchema);
    unwrap(await accounts.changePassword(deps(c), identity, input));
    return c.body(null, 204);
  })
  .get("/api/users/me", async (c) => {
    const identity = requireIdentity(c);
    return c.json(unwrap(await accounts.getUser(deps(c), identity, identity.userId)));
  })
  // `me` is the caller's id, for reading and for changing (registered before `:id`).
  .patch("/api/users/me", async (c) => {
    const identity = requireIdentity(c);
    const patch = await readBody(c.req.raw, UserPatchSchema);
    return c.json(unwrap(await accounts.updateUser(deps(c), identity, identity.userId, patch)));
  })
  .get("/api/users/:id", async (c) => {
    const identity = requireIdentity(c);
    return c.json(unwrap(await accounts.getUser(deps(c), identity, userIdParam(c.req.param("id")))));
  })
  .patch("/api/users/:id", async (c) => {
    const identity = requireIdentity(c);
    const id = userIdParam(c.req.param("id"));
    unwrap(accounts.mayManage(identity, id)); // 403 before 400, as at the gateway
    const patch = await readBody(c.req.raw, UserPatchSchema);
    return c.json(unwrap(await accounts.updateUser(deps(c), identity, id, patch)));
  })
  .put("/api/users/:id/role", async (c) => {
    const identity = requireIdentity(c);
    const id = userIdParam(c.req.param("id"));
    unwrap(accounts.mayChangeRoles(identity));
    const input = await readBody(c.req.raw, RoleInputSchema);
    return c.json(unwrap(await accounts.setRole(deps(c), identity, id, input.role)));
  });
