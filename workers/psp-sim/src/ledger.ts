import { DurableObject } from "cloudflare:workers";
import type { FaultSpec, Faults } from "#shared/contracts/payments";
import { fail, ok, type Result } from "#shared/result";
import { applyFaultUpdate } from "./faults";

export type AuthorizationStatus = "authorized" | "declined" | "captured" | "voided" | "refunded";
export type Action = "capture" | "void" | "refund";

/** One effective change of an authorisation (replays of an idempotent call add nothing). */
export interface HistoryEntry {
  action: "authorize" | "decline" | Action;
  endpoint: string;
  at: string;
}

export interface Authorization {
  id: string;
  reference: string;
  status: AuthorizationStatus;
  amountCents: number;
  currency: string;
  /** The endpoint the authorisation was created through. */
  endpoint: string;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
}

export interface AuthorizeCommand {
  reference: string;
  amountCents: number;
  currency: string;
  endpoint: string;
  /** The fault draw says: decline it if it is new. */
  decline: boolean;
}

export interface LedgerStatus {
  /** Changes whenever the object is re-created (eviction, restart): state must survive it. */
  instanceId: string;
  startedAt: string;
  authorizations: number;
}

/** The legal transitions: from -> the state an action leads to. Anything else is a 409. */
const TRANSITIONS: Record<Action, { from: AuthorizationStatus; to: AuthorizationStatus }> = {
  capture: { from: "authorized", to: "captured" },
  void: { from: "authorized", to: "voided" },
  refund: { from: "captured", to: "refunded" },
};

// A type, not an interface: SqlStorage rows must be indexable.
type AuthorizationRow = {
  id: string;
  reference: string;
  status: AuthorizationStatus;
  amount_cents: number;
  currency: string;
  endpoint: string;
  created_at: string;
  updated_at: string;
};

/**
 * The provider's books: one object (`getByName("psp")`) for every endpoint, so an authorisation
 * made through one endpoint is found through any other, and a client that timed out on `a` and
 * retries through `b` gets the same authorisation back. Authorisations and the current faults live
 * in SQLite, so eviction or a restart of `wrangler dev` loses nothing. Every method reads and
 * writes with no await in between, so concurrent calls are decided one after another.
 */
export class PspLedger extends DurableObject<Env> {
  readonly #instanceId = crypto.randomUUID();
  readonly #startedAt = new Date().toISOString();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS authorizations (
         id TEXT PRIMARY KEY,
         reference TEXT NOT NULL UNIQUE,
         status TEXT NOT NULL,
         amount_cents INTEGER NOT NULL,
         currency TEXT NOT NULL,
         endpoint TEXT NOT NULL,
         created_at TEXT NOT NULL,
         updated_at TEXT NOT NULL
       );
       CREATE TABLE IF NOT EXISTS history (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         authorization_id TEXT NOT NULL,
         action TEXT NOT NULL,
         endpoint TEXT NOT NULL,
         at TEXT NOT NULL
       );
       CREATE INDEX IF NOT EXISTS history_by_authorization ON history (authorization_id, seq);
       CREATE TABLE IF NOT EXISTS faults (target TEXT PRIMARY KEY, spec TEXT NOT NULL);`,
    );
  }

  faults(): Faults {
    const rows = this.ctx.storage.sql
      .exec<{ target: string; spec: string }>("SELECT target, spec FROM faults")
      .toArray();
    return Object.fromEntries(rows.map((row) => [row.target, JSON.parse(row.spec) as FaultSpec]));
  }

  /** Replaces the given targets' specs (an empty or all-zero spec clears its target); returns them all. */
  updateFaults(update: Faults): Faults {
    const next = applyFaultUpdate(this.faults(), update);
    this.#writeFaults(next);
    return next;
  }

  clearFaults(): Faults {
    this.#writeFaults({});
    return {};
  }

  /**
   * Creates the authorisation for `reference`, or returns the one it already has (`created:
   * false`) whatever the fault draw says. The same reference with another amount or currency is
   * a conflict: a reference authorises one payment.
   */
  authorize(command: AuthorizeCommand): Result<{ authorization: Authorization; created: boolean }> {
    const existing = this.#rowByReference(command.reference);
    if (existing) {
      if (existing.amount_cents !== command.amountCents || existing.currency !== command.currency) {
        return fail(
          "conflict",
          `Reference ${command.reference} already authorised ${existing.amount_cents} ${existing.currency}.`,
        );
      }
      return ok({ authorization: this.#toAuthorization(existing), created: false });
    }
    const now = new Date().toISOString();
    const id = `auth_${crypto.randomUUID().replaceAll("-", "")}`;
    const status: AuthorizationStatus = command.decline ? "declined" : "authorized";
    this.ctx.storage.sql.exec(
      `INSERT INTO authorizations (id, reference, status, amount_cents, currency, endpoint, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      command.reference,
      status,
      command.amountCents,
      command.currency,
      command.endpoint,
      now,
      now,
    );
    this.#addHistory(id, command.decline ? "decline" : "authorize", command.endpoint, now);
    return ok({ authorization: this.#authorizationById(id) as Authorization, created: true });
  }

  /** Capture, void or refund: repeating an action that already happened returns the same state. */
  transition(id: string, action: Action, endpoint: string): Result<Authorization> {
    const row = this.#rowById(id);
    if (!row) return fail("not_found", `No authorization ${id}.`);
    const { from, to } = TRANSITIONS[action];
    if (row.status === to) return ok(this.#toAuthorization(row));
    if (row.status !== from) return fail("conflict", `Cannot ${action} an authorization that is ${row.status}.`);
    const now = new Date().toISOString();
    this.ctx.storage.sql.exec("UPDATE authorizations SET status = ?, updated_at = ? WHERE id = ?", to, now, id);
    this.#addHistory(id, action, endpoint, now);
    return ok(this.#authorizationById(id) as Authorization);
  }

  get(id: string): Authorization | null {
    return this.#authorizationById(id) ?? null;
  }

  findByReference(reference: string): Authorization | null {
    const row = this.#rowByReference(reference);
    return row ? this.#toAuthorization(row) : null;
  }

  status(): LedgerStatus {
    const { n } = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM authorizations").one();
    return { instanceId: this.#instanceId, startedAt: this.#startedAt, authorizations: n };
  }

  #writeFaults(faults: Faults): void {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec("DELETE FROM faults");
      for (const [target, spec] of Object.entries(faults)) {
        sql.exec("INSERT INTO faults (target, spec) VALUES (?, ?)", target, JSON.stringify(spec));
      }
    });
  }

  #addHistory(id: string, action: HistoryEntry["action"], endpoint: string, at: string): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO history (authorization_id, action, endpoint, at) VALUES (?, ?, ?, ?)",
      id,
      action,
      endpoint,
      at,
    );
  }

  #rowById(id: string): AuthorizationRow | undefined {
    return this.ctx.storage.sql.exec<AuthorizationRow>("SELECT * FROM authorizations WHERE id = ?", id).toArray()[0];
  }

  #rowByReference(reference: string): AuthorizationRow | undefined {
    return this.ctx.storage.sql
      .exec<AuthorizationRow>("SELECT * FROM authorizations WHERE reference = ?", reference)
      .toArray()[0];
  }

  #authorizationById(id: string): Authorization | undefined {
    const row = this.#rowById(id);
    return row ? this.#toAuthorization(row) : undefined;
  }

  #toAuthorization(row: AuthorizationRow): Authorization {
    const history = this.ctx.storage.sql
      .exec<{ action: HistoryEntry["action"]; endpoint: string; at: string }>(
        "SELECT action, endpoint, at FROM history WHERE authorization_id = ? ORDER BY seq",
        row.id,
      )
      .toArray()
      .map((entry) => ({ action: entry.action, endpoint: entry.endpoint, at: entry.at }));
    return {
      id: row.id,
      reference: row.reference,
      status: row.status,
      amountCents: row.amount_cents,
      currency: row.currency,
      endpoint: row.endpoint,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      history,
    };
  }
}
