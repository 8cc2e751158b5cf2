import { DurableObject } from "cloudflare:workers";
import { unitOfWork } from "#queues/outbox";
import { systemActor } from "#shared/contracts/common";
import { createLogger, errorFields } from "#shared/log";
import { ordersConfig } from "./config";
import { OrdersRepository } from "./repository";

/**
 * OrderSweeper: one object ("sweeper") whose alarm does the orders service's housekeeping, since
 * cron triggers do not run under `wrangler dev`: it starts the saga of any pending order whose saga
 * never started (starting is idempotent), asks again for the refund of any order cancelled after
 * confirmation whose refund never started, and forgets idempotency keys older than their TTL. It
 * reschedules itself on every run.
 */
/** Orders read per query while the sweep pages through its work. */
const PAGE = 50;

/** Every row of a keyset-paged query, page after page, until a short page. */
async function* pages<T>(page: (after: string) => Promise<T[]>, key: (row: T) => string): AsyncGenerator<T> {
  let after = "";
  for (;;) {
    const rows = await page(after);
    yield* rows;
    const last = rows.at(-1);
    if (rows.length < PAGE || last === undefined) return;
    after = key(last);
  }
}

export interface SweepReport {
  started: string[];
  refunded: string[];
  failed: string[];
  forgottenKeys: number;
}

export class OrderSweeper extends DurableObject<Env> {
  readonly #log = createLogger({ service: "shop-orders/sweeper" });

  /** Makes sure the alarm is set and answers when it fires (epoch ms); cheap and idempotent. */
  async ensureScheduled(): Promise<number> {
    const current = await this.ctx.storage.getAlarm();
    if (current !== null) return current;
    const at = Date.now() + ordersConfig(this.env).SWEEP_INTERVAL_MS;
    await this.ctx.storage.setAlarm(at);
    return at;
  }

  /**
   * One sweep; returns what it did. It selects only work it can do (sagas never started, refunds
   * owed) and pages through all of it; each order is handled on its own, so one that fails is
   * logged and the others, and the key clean-up, still run.
   */
  sweep(): Promise<SweepReport> {
    // The sweep's own writes raise no events; it only reads and starts sagas.
    const cause = { traceparent: null, actor: systemActor("shop-orders/sweeper") };
    return unitOfWork(this.ctx, this.env, "shop-orders", cause, (outbox) =>
      this.#sweep(new OrdersRepository(this.env.DB, outbox)),
    );
  }

  async #sweep(repo: OrdersRepository): Promise<SweepReport> {
    const config = ordersConfig(this.env);
    const olderThan = new Date(Date.now() - config.SWEEP_PENDING_AFTER_MS).toISOString();
    const started: string[] = [];
    const refunded: string[] = [];
    const failed: string[] = [];
    const each = async (orderId: string, work: () => Promise<boolean>, done: string[]) => {
      try {
        if (await work()) done.push(orderId);
      } catch (error) {
        failed.push(orderId);
        this.#log.error("sweep: order failed; the next sweep tries again", { orderId, ...errorFields(error) });
      }
    };
    for await (const orderId of pages(
      (after) => repo.unstartedOrders(olderThan, PAGE, after),
      (id) => id,
    )) {
      await each(
        orderId,
        async () => {
          const plan = await repo.sagaPlan(orderId);
          if (!plan) return false;
          // Idempotent: a saga that did start (its projection is late) ignores it.
          await this.env.ORDER_SAGA.getByName(orderId).start(plan);
          return true;
        },
        started,
      );
    }
    const owed = pages(
      (after) => repo.unrefundedCancellations(olderThan, PAGE, after),
      (c) => c.orderId,
    );
    for await (const { orderId, reason } of owed) {
      await each(
        orderId,
        async () => {
          // Idempotent: a refund already running or done is not started twice.
          const by = reason === "cancelled_by_admin" ? "admin" : "customer";
          return (await this.env.ORDER_SAGA.getByName(orderId).refund(by)).accepted;
        },
        refunded,
      );
    }
    const forgottenKeys = await repo.deleteIdempotencyKeysBefore(
      Math.floor(Date.now() / 1000) - config.IDEMPOTENCY_TTL_SECONDS,
    );
    if (started.length > 0 || refunded.length > 0 || failed.length > 0 || forgottenKeys > 0) {
      this.#log.info("sweep", { started, refunded, failed, forgottenKeys });
    }
    return { started, refunded, failed, forgottenKeys };
  }

  override async alarm(): Promise<void> {
    try {
      await this.sweep();
    } finally {
      await this.ctx.storage.setAlarm(Date.now() + ordersConfig(this.env).SWEEP_INTERVAL_MS);
    }
  }
}
