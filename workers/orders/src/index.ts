import { WorkerEntrypoint } from "cloudflare:workers";
import type { ServiceHealth } from "../../shared/src/contracts/health";
import { app } from "./routes";

export { OrderSaga } from "./order-saga";
export { OutboxRelay } from "./outbox-relay";
export { OrderSweeper } from "./sweeper";

/** shop-orders: `fetch` serves the HTTP app the gateway forwards to. */
export default class OrdersService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The sweep's alarm keeps itself going; make sure it was ever started.
    await this.env.SWEEPER.getByName("sweeper").ensureScheduled();
    return { status: "ok", service: "shop-orders" };
  }
}
