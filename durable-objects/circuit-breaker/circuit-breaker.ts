import { DurableObject } from "cloudflare:workers";
import * as z from "zod";
import type { Admission, Breaker, CircuitBreakerRpc } from "#shared/contracts/breaker";
import { type MetricsBindings, recordMetric } from "#shared/metrics";
import {
  acquire,
  type BreakerConfig,
  type BreakerVars,
  breakerConfig,
  initialState,
  type MachineState,
  record,
  toBreaker,
} from "./machine";

export type { BreakerConfig } from "./machine";

/** What the breaker reads from its host Worker's environment (vars; defaults when absent). */
export type CircuitBreakerEnv = BreakerVars & MetricsBindings;

interface Row extends Record<string, SqlStorageValue> {
  state: string;
  failures: number;
  opened_at: number | null;
  last_transition_at: number;
  probe_id: string | null;
  probe_expires_at: number | null;
}

const RecordInput = z.tuple([z.enum(["success", "failure"]), z.string().min(1).max(128).optional()]);

/**
 * One CircuitBreaker per dependency, addressed by its name (`getByName("payments")`). The state is
 * one SQLite row; every method reads it, decides with the pure machine and writes it back without
 * any await in between, so concurrent callers are decided one after another: in half-open exactly
 * one of them gets the probe.
 */
export class CircuitBreaker extends DurableObject<CircuitBreakerEnv> implements CircuitBreakerRpc {
  readonly #config: BreakerConfig;

  constructor(ctx: DurableObjectState, env: CircuitBreakerEnv) {
    super(ctx, env);
    // A bad setting throws here, so every call fails loudly instead of running on a guess.
    this.#config = breakerConfig(env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS breaker (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         state TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
         failures INTEGER NOT NULL,
         opened_at INTEGER,
         last_transition_at INTEGER NOT NULL,
         probe_id TEXT,
         probe_expires_at INTEGER
       )`,
    );
  }

  /** The dependency's name: objects are only ever reached by name, which the id carries. */
  #name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  async acquire(): Promise<Admission> {
    const now = Date.now();
    const current = this.#load(now);
    const { state, admission } = acquire(current, now, this.#config, () => crypto.randomUUID());
    if (state !== current) this.#save(state, current);
    return admission;
  }

  async record(outcome: "success" | "failure", probe?: string): Promise<Breaker> {
    const input = RecordInput.safeParse([outcome, probe]);
    // A malformed record is the caller's bug: it throws, and the breaker's state stays as it was.
    if (!input.success) throw new TypeError(`record: bad arguments: ${z.prettifyError(input.error)}`);
    const [checkedOutcome, checkedProbe] = input.data;
    const now = Date.now();
    const current = this.#load(now);
    const next = record(current, checkedOutcome, checkedProbe, now, this.#config);
    if (next !== current) this.#save(next, current);
    return toBreaker(this.#name(), next);
  }

  /** Read-only: an open breaker whose time is up still reads `open` until someone acquires. */
  async snapshot(): Promise<Breaker> {
    return toBreaker(this.#name(), this.#load(Date.now()));
  }

  /** The stored state; a breaker never used is closed since its first use (stored then). */
  #load(now: number): MachineState {
    const row = this.ctx.storage.sql.exec<Row>("SELECT * FROM breaker WHERE id = 1").toArray()[0];
    if (!row) {
      const fresh = initialState(now);
      this.#save(fresh);
      return fresh;
    }
    return {
      state: row.state as MachineState["state"],
      failures: row.failures,
      ...(row.opened_at === null ? {} : { openedAt: row.opened_at }),
      lastTransitionAt: row.last_transition_at,
      ...(row.probe_id === null || row.probe_expires_at === null
        ? {}
        : { probe: { id: row.probe_id, expiresAt: row.probe_expires_at } }),
    };
  }

  #save(state: MachineState, previous?: MachineState): void {
    if (previous && previous.state !== state.state) {
      recordMetric(this.env, (promise) => this.ctx.waitUntil(promise), {
        kind: "breaker",
        name: this.#name(),
        from: previous.state,
        to: state.state,
        failures: state.failures,
      });
    }
    this.ctx.storage.sql.exec(
      `INSERT INTO breaker (id, state, failures, opened_at, last_transition_at, probe_id, probe_expires_at)
       VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, failures = excluded.failures,
         opened_at = excluded.opened_at, last_transition_at = excluded.last_transition_at,
         probe_id = excluded.probe_id, probe_expires_at = excluded.probe_expires_at`,
      state.state,
      state.failures,
      state.openedAt ?? null,
      state.lastTransitionAt,
      state.probe?.id ?? null,
      state.probe?.expiresAt ?? null,
    );
  }
}
