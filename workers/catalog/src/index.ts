import { WorkerEntrypoint } from "cloudflare:workers";
import type { CatalogRpc, OrderLine, ProductQuote, StockLevels } from "../../shared/src/contracts/catalog";
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

  #deps() {
    return { repo: new CatalogRepository(this.env.DB) };
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    return { status: "ok", service: "shop-catalog" };
  }

  quote(productIds: string[]): Promise<Result<ProductQuote[]>> {
    return products.quote(this.#deps(), productIds);
  }

  reserve(orderId: string, lines: OrderLine[]): Promise<Result<{ state: "reserved" }>> {
    return reservations.reserve(this.#deps(), orderId, lines);
  }

  commit(orderId: string): Promise<Result<{ state: "committed" }>> {
    return reservations.commit(this.#deps(), orderId);
  }

  release(orderId: string): Promise<Result<{ state: "released" | "none" }>> {
    return reservations.release(this.#deps(), orderId);
  }

  returnToStock(orderId: string): Promise<Result<{ state: "returned" }>> {
    return reservations.returnToStock(this.#deps(), orderId);
  }

  stock(productId: string): Promise<StockLevels | null> {
    return products.stockLevels(this.#deps(), productId);
  }
}
