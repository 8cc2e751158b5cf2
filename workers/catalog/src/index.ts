import { WorkerEntrypoint } from "cloudflare:workers";
import { outboxBacklog, unitOfWork } from "#queues/outbox";
import type { CatalogRpc, OrderLine, ProductQuote, StockLevels } from "#shared/contracts/catalog";
import { type CallContext, causeOf, systemActor } from "#shared/contracts/common";
import type { OutboxBacklog } from "#shared/contracts/events";
import type { ServiceHealth } from "#shared/contracts/health";
import type { Result } from "#shared/result";
import { span } from "#shared/span";
import { formatTraceparent, parseTraceparent } from "#shared/trace";
import * as products from "./products";
import { CatalogRepository } from "./repository";
import * as reservations from "./reservations";
import { app } from "./routes";

export { OutboxRelay } from "./outbox-relay";

/**
 * shop-catalog. `fetch` serves the HTTP app the gateway forwards public requests to; the other
 * methods are its RPC surface for other Workers (orders prices and reserves through them). RPC
 * arguments are validated inside each method: a bad one is a `validation_failed` result.
 */
export default class CatalogService extends WorkerEntrypoint<Env> implements CatalogRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  /** A read: a unit of work that stages nothing, so it flushes nothing. */
  #reading<T>(run: (deps: { repo: CatalogRepository }) => Promise<T>): Promise<T> {
    const cause = { traceparent: null, actor: systemActor("shop-catalog") };
    return unitOfWork(this.ctx, this.env, "shop-catalog", cause, (outbox) =>
      run({ repo: new CatalogRepository(this.env.DB, outbox) }),
    );
  }

  /**
   * Runs a state-changing call as a span of the caller's trace, as one unit of work: its events
   * carry the span and the caller's actor, and are sent once the change committed, off the
   * answer's path.
   */
  #changing<T>(
    method: string,
    context: CallContext | undefined,
    run: (deps: { repo: CatalogRepository }) => Promise<T>,
  ): Promise<T> {
    const cause = causeOf(context, "shop-catalog");
    return span(
      { service: "shop-catalog", name: `rpc catalog.${method}`, parent: parseTraceparent(cause.traceparent) },
      (trace) => {
        // Events carry this span (a child of the caller's); a call with no trace raises untraced events.
        const traceparent = cause.traceparent ? formatTraceparent(trace) : null;
        return unitOfWork(this.ctx, this.env, "shop-catalog", { ...cause, traceparent }, (outbox) =>
          run({ repo: new CatalogRepository(this.env.DB, outbox) }),
        );
      },
    );
  }

  /** What the outbox holds unconfirmed (shop-alerts' `outbox_stale`). */
  outboxBacklog(): Promise<OutboxBacklog> {
    return outboxBacklog(this.env.DB);
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-catalog" };
  }

  quote(productIds: string[]): Promise<Result<ProductQuote[]>> {
    return this.#reading((deps) => products.quote(deps, productIds));
  }

  reserve(orderId: string, lines: OrderLine[], context?: CallContext): Promise<Result<{ state: "reserved" }>> {
    return this.#changing("reserve", context, (deps) => reservations.reserve(deps, orderId, lines));
  }

  commit(orderId: string, context?: CallContext): Promise<Result<{ state: "committed" }>> {
    return this.#changing("commit", context, (deps) => reservations.commit(deps, orderId));
  }

  release(orderId: string, context?: CallContext): Promise<Result<{ state: "released" | "none" }>> {
    return this.#changing("release", context, (deps) => reservations.release(deps, orderId));
  }

  returnToStock(orderId: string, context?: CallContext): Promise<Result<{ state: "returned" }>> {
    return this.#changing("returnToStock", context, (deps) => reservations.returnToStock(deps, orderId));
  }

  stock(productId: string): Promise<Result<StockLevels | null>> {
    return this.#reading((deps) => products.stockLevels(deps, productId));
  }
}
