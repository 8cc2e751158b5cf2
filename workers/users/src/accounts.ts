import type { LoginInput, RegisterInput, TokenPair, User, UserPatch } from "#shared/contracts/users";
import type { Identity, Role } from "#shared/identity";
import { newId } from "#shared/ids";
import { fail, ok, type Result } from "#shared/result";
import type { SigningKey } from "./keys";
import { burnPasswordCheck, hashPassword, verifyPassword } from "./passwords";
import type { UsersRepository } from "./repository";
import { hashRefreshToken, newRefreshToken, signAccessToken, type TokenConfig } from "./tokens";

/** The account use cases of shop-users. No HTTP here: results are values, mapped to statuses by the routes. */

const BAD_CREDENTIALS = "The email or password is not correct.";
const BAD_REFRESH = "The refresh token is not valid.";

export interface AccountsDeps {
  repo: UsersRepository;
  signing: () => Promise<SigningKey>;
  tokens: TokenConfig;
  now?: () => number; // seconds
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function register(
  deps: AccountsDeps,
  input: RegisterInput,
  role: Role = "customer",
): Promise<Result<User>> {
  const user: User = {
    id: newId("usr"),
    email: input.email,
    name: input.name,
    phone: input.phone ?? null,
    role,
    createdAt: new Date().toISOString(),
  };
  const password = await hashPassword(input.password);
  if (!(await deps.repo.insert(user, password)))
    return fail("email_taken", "An account with this email already exists.");
  return ok(user);
}

/** A new session: its first refresh token (only if the password is unchanged) and an access token. */
async function startSession(
  deps: AccountsDeps,
  user: { id: string; role: Role },
  verifiedPasswordHash: string,
): Promise<TokenPair | undefined> {
  const now = (deps.now ?? nowSeconds)();
  const refreshToken = newRefreshToken();
  const started = await deps.repo.insertFirstRefreshToken({
    hash: await hashRefreshToken(refreshToken),
    userId: user.id,
    familyId: crypto.randomUUID(),
    now,
    expiresAt: now + deps.tokens.refreshTtlSeconds,
    verifiedPasswordHash,
  });
  if (!started) return undefined;
  return {
    accessToken: await signAccessToken(await deps.signing(), deps.tokens, { userId: user.id, role: user.role }, now),
    refreshToken,
    tokenType: "Bearer",
    expiresIn: deps.tokens.accessTtlSeconds,
  };
}

/** Every bad credential gets the same answer, and an unknown email costs a full derivation too. */
export async function login(deps: AccountsDeps, input: LoginInput): Promise<Result<TokenPair>> {
  const stored = await deps.repo.findByEmail(input.email);
  const valid = stored
    ? await verifyPassword(input.password, stored.password)
    : await burnPasswordCheck(input.password);
  if (!stored || !valid) return fail("login_failed", BAD_CREDENTIALS);
  const pair = await startSession(deps, stored.user, stored.password.hash);
  return pair ? ok(pair) : fail("login_failed", BAD_CREDENTIALS);
}

/**
 * Rotation with reuse detection: a live token is exchanged for a new pair exactly once. Presenting
 * a token that was already used (or revoked) means it leaked: the whole family is revoked.
 */
export async function refresh(deps: AccountsDeps, refreshToken: string): Promise<Result<TokenPair>> {
  const now = (deps.now ?? nowSeconds)();
  const oldHash = await hashRefreshToken(refreshToken);
  const successor = newRefreshToken();
  const rotated = await deps.repo.rotateRefreshToken(oldHash, await hashRefreshToken(successor), now);
  if (!rotated) {
    const known = await deps.repo.findRefreshToken(oldHash);
    if (known && (known.used || known.revoked)) await deps.repo.revokeFamily(known.familyId, now);
    return fail("invalid_grant", BAD_REFRESH);
  }
  const stored = await deps.repo.findById(rotated.userId);
  if (!stored) return fail("invalid_grant", BAD_REFRESH);
  return ok({
    accessToken: await signAccessToken(
      await deps.signing(),
      deps.tokens,
      { userId: stored.user.id, role: stored.user.role },
      now,
    ),
    refreshToken: successor,
    tokenType: "Bearer",
    expiresIn: deps.tokens.accessTtlSeconds,
  });
}

/** Revokes the session (token family) of a refresh token that belongs to the caller. */
export async function logout(deps: AccountsDeps, identity: Identity, refreshToken: string): Promise<Result<null>> {
  const known = await deps.repo.findRefreshToken(await hashRefreshToken(refreshToken));
  if (!known || known.userId !== identity.userId) return fail("invalid_grant", BAD_REFRESH);
  await deps.repo.revokeFamily(known.familyId, (deps.now ?? nowSeconds)());
  return ok(null);
}

export async function changePassword(
  deps: AccountsDeps,
  identity: Identity,
  input: { currentPassword: string; newPassword: string },
): Promise<Result<null>> {
  const stored = await deps.repo.findById(identity.userId);
  if (!stored || !(await verifyPassword(input.currentPassword, stored.password))) {
    return fail("invalid_credentials", "The current password is not correct.");
  }
  await deps.repo.changePassword(identity.userId, await hashPassword(input.newPassword), (deps.now ?? nowSeconds)());
  return ok(null);
}

function canAccess(identity: Identity, userId: string): boolean {
  return identity.role === "admin" || identity.userId === userId;
}

/** Who may manage a profile (self or admin), checked before a request body is even read. */
export function mayManage(identity: Identity, userId: string): Result<null> {
  return canAccess(identity, userId) ? ok(null) : fail("forbidden", "You can only change your own profile.");
}

export function mayChangeRoles(identity: Identity): Result<null> {
  return identity.role === "admin" ? ok(null) : fail("insufficient_scope", "Only an admin can change roles.");
}

export async function getUser(deps: AccountsDeps, identity: Identity, userId: string): Promise<Result<User>> {
  if (!canAccess(identity, userId)) return fail("forbidden", "You can only see your own profile.");
  const stored = await deps.repo.findById(userId);
  return stored ? ok(stored.user) : fail("not_found", "No such user.");
}

export async function updateUser(
  deps: AccountsDeps,
  identity: Identity,
  userId: string,
  patch: UserPatch,
): Promise<Result<User>> {
  const allowed = mayManage(identity, userId);
  if (!allowed.ok) return allowed;
  const updated = await deps.repo.update(userId, patch);
  if (updated === "email_taken") return fail("email_taken", "An account with this email already exists.");
  return updated ? ok(updated.user) : fail("not_found", "No such user.");
}

export async function setRole(
  deps: AccountsDeps,
  identity: Identity,
  userId: string,
  role: Role,
): Promise<Result<User>> {
  const allowed = mayChangeRoles(identity);
  if (!allowed.ok) return allowed;
  const updated = await deps.repo.setRole(userId, role);
  if (updated === "last_admin") return fail("last_admin", "This is the last admin: make another admin first.");
  return updated ? ok(updated.user) : fail("not_found", "No such user.");
}
