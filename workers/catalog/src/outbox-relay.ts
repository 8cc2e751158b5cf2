import { OutboxRelayObject } from "#queues/outbox-relay";

/** The relay of shop-catalog's outbox (queues/outbox-relay.ts). */
export class OutboxRelay extends OutboxRelayObject<Env> {}
