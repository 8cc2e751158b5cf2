import { WorkerEntrypoint } from "cloudflare:workers";
import { unitOfWork } from "../../../queues/outbox";
import type { CatalogRpc, OrderLine, ProductQuote, StockLevels } from "../../shared/src/contracts/catalog";
import { type CallContext, traceparentOf } from "../../shared/src/contracts/common";
import type { ServiceHealth } from "../../shared/src/contracts/health";
import type { Result } from "../../shared/src/result";
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

  /** One RPC call is one unit of work: its events carry the caller's trace, flushed once after it. */
  #changing<T>(context: CallContext | undefined, run: (deps: { repo: CatalogRepository }) => Promise<T>): Promise<T> {
    return unitOfWork(this.ctx, this.env, "shop-catalog", traceparentOf(context), (outbox) =>
      run({ repo: new CatalogRepository(this.env.DB, outbox) }),
    );
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-catalog" };
  }

  quote(productIds: string[]): Promise<Result<ProductQuote[]>> {
    return this.#changing(undefined, (deps) => products.quote(deps, productIds));
  }

  reserve(orderId: string, lines: OrderLine[], context?: CallContext): Promise<Result<{ state: "reserved" }>> {
    return this.#changing(context, (deps) => reservations.reserve(deps, orderId, lines));
  }

  commit(orderId: string, context?: CallContext): Promise<Result<{ state: "committed" }>> {
    return this.#changing(context, (deps) => reservations.commit(deps, orderId));
  }

  release(orderId: string, context?: CallContext): Promise<Result<{ state: "released" | "none" }>> {
    return this.#changing(context, (deps) => reservations.release(deps, orderId));
  }

  returnToStock(orderId: string, context?: CallContext): Promise<Result<{ state: "returned" }>> {
    return this.#changing(context, (deps) => reservations.returnToStock(deps, orderId));
  }

  stock(productId: string): Promise<StockLevels | null> {
    return this.#changing(undefined, (deps) => products.stockLevels(deps, productId));
  }
}
