import { DurableObject } from "cloudflare:workers";
import { Outbox } from "../../../queues/outbox";
import { createLogger } from "../../shared/src/log";
import { ordersConfig } from "./config";
import { OrdersRepository } from "./repository";

/**
 * OrderSweeper: one object ("sweeper") whose alarm does the orders service's housekeeping, since
 * cron triggers do not run under `wrangler dev`: it starts the saga of any order still pending
 * after a while (starting is idempotent, so an order whose saga runs is untouched), asks again for
 * the refund of any order cancelled after confirmation whose refund never started, and forgets
 * idempotency keys older than their TTL. It reschedules itself on every run.
 */
export class OrderSweeper extends DurableObject<Env> {
  readonly #log = createLogger({ service: "shop-orders/sweeper" });

  /** Makes sure the alarm is set; cheap and idempotent, called on the service's hot paths. */
  async ensureScheduled(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + ordersConfig(this.env).SWEEP_INTERVAL_MS);
    }
  }

  /** One sweep; returns the orders whose saga it (re)started. */
  async sweep(): Promise<{ started: string[]; refunded: string[]; forgottenKeys: number }> {
    const config = ordersConfig(this.env);
    // The sweep's own writes raise no events; it only reads and starts sagas.
    const repo = new OrdersRepository(this.env.DB, new Outbox(this.env, "shop-orders", null));
    const olderThan = new Date(Date.now() - config.SWEEP_PENDING_AFTER_MS).toISOString();
    const started: string[] = [];
    for (const orderId of await repo.stalePendingOrders(olderThan, 50)) {
      const plan = await repo.sagaPlan(orderId);
      if (!plan) continue;
      const saga = this.env.ORDER_SAGA.getByName(orderId);
      const view = await saga.view();
      if (view === null) {
        await saga.start(plan);
        started.push(orderId);
      }
    }
    const refunded: string[] = [];
    for (const { orderId, reason } of await repo.unrefundedCancellations(olderThan, 50)) {
      // Idempotent: a refund already running or done is not started twice.
      const reply = await this.env.ORDER_SAGA.getByName(orderId).refund(
        reason === "cancelled_by_admin" ? "admin" : "customer",
      );
      if (reply.accepted) refunded.push(orderId);
    }
    const forgottenKeys = await repo.deleteIdempotencyKeysBefore(
      Math.floor(Date.now() / 1000) - config.IDEMPOTENCY_TTL_SECONDS,
    );
    if (started.length > 0 || refunded.length > 0 || forgottenKeys > 0) {
      this.#log.info("sweep", { started, refunded, forgottenKeys });
    }
    return { started, refunded, forgottenKeys };
  }

  override async alarm(): Promise<void> {
    try {
      await this.sweep();
    } finally {
      await this.ctx.storage.setAlarm(Date.now() + ordersConfig(this.env).SWEEP_INTERVAL_MS);
    }
  }
}
