import { OrderSagaObject, type SagaStore } from "../../../durable-objects/order-saga/order-saga";
import { Outbox } from "../../../queues/outbox";
import { OrdersRepository } from "./repository";

/**
 * The OrderSaga Durable Object of shop-orders: the saga driver with orders-db as its store. Each
 * write gets its own outbox, carrying the trace of the request that placed the order, flushed
 * once the write committed.
 */
export class OrderSaga extends OrderSagaObject<Env> {
  protected store(traceparent: string | null): SagaStore {
    const write =
      <A extends unknown[], R>(run: (repo: OrdersRepository, ...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const outbox = new Outbox(this.env, "shop-orders", traceparent);
        const result = await run(new OrdersRepository(this.env.DB, outbox), ...args);
        this.ctx.waitUntil(outbox.flush());
        return result;
      };
    return {
      confirm: write((repo, orderId: string, now: string) => repo.confirm(orderId, now)),
      cancel: write((repo, orderId, reason, now) => repo.cancel(orderId, reason, now)),
      orderStatus: write((repo, orderId: string) => repo.orderStatus(orderId)),
      saveSaga: write((repo, orderId, saga, revision, now) => repo.saveSaga(orderId, saga, revision, now)),
      recordEvent: write((repo, id, type, data) => repo.recordSagaEvent(id, type, data)),
      faults: async () =>
        this.env.FAULTS_ENABLED === "true"
          ? new OrdersRepository(this.env.DB, new Outbox(this.env, "shop-orders", null)).rpcFaults()
          : {},
    };
  }
}
