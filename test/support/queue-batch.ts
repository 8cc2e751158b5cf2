/** Messages for `createMessageBatch`, shared by the tests of every queue consumer. */

export interface Delivery {
  /** The message id on the queue (the same on every redelivery of one message). */
  id: string;
  body: unknown;
  attempts?: number;
}

/** A message per body, each with a fresh queue message id. */
export const asMessages = (...bodies: unknown[]): Delivery[] =>
  bodies.map((body) => ({ id: crypto.randomUUID(), body }));
