import { OrderSagaObject, type SagaStore } from "../../../durable-objects/order-saga/order-saga";
import { OrdersRepository } from "./repository";

/** The OrderSaga Durable Object of shop-orders: the saga driver with orders-db as its store. */
export class OrderSaga extends OrderSagaObject<Env> {
  protected store(): SagaStore {
    return new OrdersRepository(this.env.DB);
  }
}
