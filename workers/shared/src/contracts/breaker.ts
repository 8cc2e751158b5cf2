import * as z from "zod";

export const BreakerStateSchema = z.enum(["closed", "open", "half_open"]);
export type BreakerState = z.infer<typeof BreakerStateSchema>;

export const BreakerSchema = z
  .object({
    name: z.string(),
    state: BreakerStateSchema,
    failures: z.number().int(),
    openedAt: z.string().optional(),
    lastTransitionAt: z.string(),
  })
  .meta({ id: "Breaker" });
export type Breaker = z.infer<typeof BreakerSchema>;

/** The answer to "may I call?": `probe` is the lease id of the single half-open probe. */
export interface Admission {
  allowed: boolean;
  state: BreakerState;
  probe?: string;
  /** When refused: milliseconds until the breaker will let a probe through. */
  retryInMs?: number;
}

/** The CircuitBreaker Durable Object's RPC surface (one object per dependency, by name). */
export interface CircuitBreakerRpc {
  acquire(): Promise<Admission>;
  /** A transient failure counts; a business failure is reported as a success of the dependency. */
  record(outcome: "success" | "failure", probe?: string): Promise<Breaker>;
  snapshot(): Promise<Breaker>;
}
