import type { Outbox, Sql } from "#queues/outbox";
import type { User } from "#shared/contracts/users";
import type { Role } from "#shared/identity";
import type { PasswordHash } from "./passwords";

/** All SQL of shop-users: prepared statements with bound parameters only. */

interface UserRow {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  role: Role;
  password_hash: string;
  password_salt: string;
  password_iterations: number;
  created_at: string;
}

export interface StoredUser {
  user: User;
  password: PasswordHash;
}

function toStored(row: UserRow): StoredUser {
  return {
    user: { id: row.id, email: row.email, name: row.name, phone: row.phone, role: row.role, createdAt: row.created_at },
    password: { hash: row.password_hash, salt: row.password_salt, iterations: row.password_iterations },
  };
}

const USER_COLUMNS = "id, email, name, phone, role, password_hash, password_salt, password_iterations, created_at";

/** The data of user.created and user.updated, as the row stands inside the transaction. */
const userEventData = (id: string): Sql => ({
  sql: "SELECT json_object('userId', id, 'email', email, 'name', name, 'phone', phone, 'role', role) FROM users WHERE id = ?",
  params: [id],
});

/** Each change a user can see is written with its event (user.created, user.updated) in one batch. */
const CHANGED: Sql = { sql: "changes() = 1", params: [] };

export class UsersRepository {
  constructor(
    private readonly db: D1Database,
    private readonly outbox: Outbox,
  ) {}

  async findById(id: string): Promise<StoredUser | undefined> {
    const row = await this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).bind(id).first<UserRow>();
    return row ? toStored(row) : undefined;
  }

  async findByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE email = ?`).bind(email).first<UserRow>();
    return row ? toStored(row) : undefined;
  }

  /** Inserts a user; `false` when the email is taken (the UNIQUE constraint decides, not a prior read). */
  async insert(user: User, password: PasswordHash): Promise<boolean> {
    const [result] = await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO users (id, email, name, phone, role, password_hash, password_salt, password_iterations, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING`,
        )
        .bind(
          user.id,
          user.email,
          user.name,
          user.phone,
          user.role,
          password.hash,
          password.salt,
          password.iterations,
          user.createdAt,
          user.createdAt,
        ),
      ...this.outbox.stage({ type: "user.created", subject: user.id, data: userEventData(user.id), when: CHANGED }),
    ]);
    return result?.meta.changes === 1;
  }

  /** Applies a patch; `"email_taken"` when the new email belongs to someone else. */
  async update(
    id: string,
    patch: { name?: string; email?: string; phone?: string | null },
  ): Promise<StoredUser | undefined | "email_taken"> {
    try {
      const [updated] = await this.db.batch<UserRow>([
        this.db
          .prepare(
            `UPDATE users SET
             name = CASE WHEN ?1 THEN ?2 ELSE name END,
             email = CASE WHEN ?3 THEN ?4 ELSE email END,
             phone = CASE WHEN ?5 THEN ?6 ELSE phone END,
             updated_at = ?7
           WHERE id = ?8 RETURNING ${USER_COLUMNS}`,
          )
          .bind(
            patch.name !== undefined ? 1 : 0,
            patch.name ?? null,
            patch.email !== undefined ? 1 : 0,
            patch.email ?? null,
            patch.phone !== undefined ? 1 : 0,
            patch.phone ?? null,
            new Date().toISOString(),
            id,
          ),
        ...this.outbox.stage({ type: "user.updated", subject: id, data: userEventData(id), when: CHANGED }),
      ]);
      const row = updated?.results[0];
      return row ? toStored(row) : undefined;
    } catch (error) {
      if (String(error).includes("UNIQUE constraint failed: users.email")) return "email_taken";
      throw error;
    }
  }

  /**
   * Sets a role, unless it would demote the last admin: the count is read inside the one
   * conditional statement, so two admins demoting each other at once cannot both succeed.
   */
  async setRole(id: string, role: Role): Promise<StoredUser | "last_admin" | undefined> {
    const [updated] = await this.db.batch<UserRow>([
      this.db
        .prepare(
          `UPDATE users SET role = ?1, updated_at = ?2 WHERE id = ?3
             AND (?1 = 'admin' OR role <> 'admin' OR (SELECT COUNT(*) FROM users WHERE role = 'admin') > 1)
           RETURNING ${USER_COLUMNS}`,
        )
        .bind(role, new Date().toISOString(), id),
      ...this.outbox.stage({ type: "user.updated", subject: id, data: userEventData(id), when: CHANGED }),
    ]);
    const row = updated?.results[0];
    if (row) return toStored(row);
    return (await this.findById(id)) ? "last_admin" : undefined;
  }

  /** Sets a new password and revokes every refresh token of the user, in one transaction. */
  async changePassword(id: string, password: PasswordHash, now: number): Promise<void> {
    await this.db.batch([
      this.db
        .prepare(
          "UPDATE users SET password_hash = ?, password_salt = ?, password_iterations = ?, updated_at = ? WHERE id = ?",
        )
        .bind(password.hash, password.salt, password.iterations, new Date(now * 1000).toISOString(), id),
      this.db
        .prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(now, id),
    ]);
  }

  /**
   * Starts a session with its first refresh token, only if the user's password hash is still the
   * one just verified: a login that races a password change gets no session that outlives it.
   */
  async insertFirstRefreshToken(token: {
    hash: string;
    userId: string;
    familyId: string;
    now: number;
    expiresAt: number;
    verifiedPasswordHash: string;
  }): Promise<boolean> {
    const result = await this.db
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at)
         SELECT ?, id, ?, ?, ? FROM users WHERE id = ? AND password_hash = ?`,
      )
      .bind(token.hash, token.familyId, token.now, token.expiresAt, token.userId, token.verifiedPasswordHash)
      .run();
    return result.meta.changes === 1;
  }

  /**
   * Rotates a refresh token atomically: marks the old one used (only if it is live) and inserts its
   * successor in the same family, in one batch. Returns the owner when the rotation happened.
   * Two concurrent uses of one token cannot both succeed: the conditional UPDATE admits one.
   * The successor keeps the family's expiry: a session lives REFRESH_TOKEN_TTL_SECONDS from its
   * login however often it rotates.
   */
  async rotateRefreshToken(
    oldHash: string,
    newHash: string,
    now: number,
  ): Promise<{ userId: string; familyId: string } | undefined> {
    const [claim, , successor] = await this.db.batch<{ user_id: string; family_id: string }>([
      this.db
        .prepare(
          `UPDATE refresh_tokens SET replaced_by = ?
           WHERE token_hash = ? AND replaced_by IS NULL AND revoked_at IS NULL AND expires_at > ?`,
        )
        .bind(newHash, oldHash, now),
      this.db
        .prepare(
          `INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at)
           SELECT ?, user_id, family_id, ?, expires_at FROM refresh_tokens WHERE token_hash = ? AND replaced_by = ?`,
        )
        .bind(newHash, now, oldHash, newHash),
      this.db.prepare("SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = ?").bind(newHash),
    ]);
    const row = successor?.results[0];
    if (claim?.meta.changes !== 1 || !row) return undefined;
    return { userId: row.user_id, familyId: row.family_id };
  }

  async findRefreshToken(
    hash: string,
  ): Promise<{ userId: string; familyId: string; used: boolean; revoked: boolean } | undefined> {
    const row = await this.db
      .prepare("SELECT user_id, family_id, replaced_by, revoked_at FROM refresh_tokens WHERE token_hash = ?")
      .bind(hash)
      .first<{ user_id: string; family_id: string; replaced_by: string | null; revoked_at: number | null }>();
    if (!row) return undefined;
    return {
      userId: row.user_id,
      familyId: row.family_id,
      used: row.replaced_by !== null,
      revoked: row.revoked_at !== null,
    };
  }

  async revokeFamily(familyId: string, now: number): Promise<void> {
    await this.db
      .prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL")
      .bind(now, familyId)
      .run();
  }

  /** Housekeeping: drops up to `batch` refresh tokens that expired more than a day ago. */
  async deleteExpiredRefreshTokens(now: number, batch = 100): Promise<number> {
    const result = await this.db
      .prepare(
        `DELETE FROM refresh_tokens WHERE token_hash IN
           (SELECT token_hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)`,
      )
      .bind(now - 86_400, batch)
      .run();
    return result.meta.changes;
  }
}
