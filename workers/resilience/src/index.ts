import { WorkerEntrypoint } from "cloudflare:workers";
import { breakerConfig } from "#do/circuit-breaker/machine";
import type { Breaker } from "#shared/contracts/breaker";
import type { ServiceHealth } from "#shared/contracts/health";
import { listBreakers } from "./breakers";
import { app } from "./routes";

export { CircuitBreaker } from "#do/circuit-breaker/circuit-breaker";

/**
 * shop-resilience. It hosts the CircuitBreaker objects (other Workers bind them with
 * `script_name`); `fetch` serves the admin HTTP app the gateway forwards to; `health()` and
 * `breakers()` are its RPC surface.
 */
export default class ResilienceService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  /** Up when its breaker settings parse: a bad one would make every breaker throw. */
  async health(): Promise<ServiceHealth> {
    breakerConfig(this.env);
    return { status: "ok", service: "shop-resilience" };
  }

  /** Every configured breaker's state, for operators and other services. */
  breakers(): Promise<Breaker[]> {
    return listBreakers(this.env);
  }
}
