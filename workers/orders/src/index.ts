import { WorkerEntrypoint } from "cloudflare:workers";
import { outboxBacklog, unitOfWork } from "#queues/outbox";
import { faultsEnabled } from "#shared/config";
import { systemActor } from "#shared/contracts/common";
import type { OutboxBacklog } from "#shared/contracts/events";
import { type RpcFaults, RpcFaultsSchema } from "#shared/contracts/faults";
import type { ServiceHealth } from "#shared/contracts/health";
import { fail, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import { OrdersRepository } from "./repository";
import { app } from "./routes";

export { OutboxRelay } from "./outbox-relay";
export { OrderSaga } from "./saga/order-saga";
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

  /** The orders whose saga is in compensation_failed (up to 100, newest first): shop-alerts asks. */
  async compensationFailedSagas(): Promise<string[]> {
    const page = await this.#repo((repo) => repo.listSagas({ state: "compensation_failed", limit: 100 }));
    return page.items.map((item) => item.orderId);
  }

  /** What the outbox holds unconfirmed (shop-alerts' `outbox_stale`). */
  outboxBacklog(): Promise<OutboxBacklog> {
    return outboxBacklog(this.env.DB);
  }

  /** Faults for the saga's calls to catalog and payments (only where FAULTS_ENABLED = "true"). */
  async setFaults(faults: RpcFaults): Promise<Result<RpcFaults>> {
    // Where faults are disabled the feature does not exist, whatever the input.
    if (!faultsEnabled(this.env)) return fail("not_found", "Faults cannot be set here.");
    const checked = parseResult(RpcFaultsSchema, faults);
    if (!checked.ok) return checked;
    const value = await this.#repo((repo) => repo.updateRpcFaults(checked.value, new Date().toISOString()));
    return { ok: true, value };
  }

  /** One RPC call is one unit of work (these stage no event, so they flush nothing). */
  #repo<R>(run: (repo: OrdersRepository) => Promise<R>): Promise<R> {
    const cause = { traceparent: null, actor: systemActor("shop-orders") };
    return unitOfWork(this.ctx, this.env, "shop-orders", cause, (outbox) =>
      run(new OrdersRepository(this.env.DB, outbox)),
    );
  }
}
