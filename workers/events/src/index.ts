import { WorkerEntrypoint } from "cloudflare:workers";
import { type DeadLetterInput, StoredQuerySchema } from "#shared/contracts/events";
import type { ServiceHealth } from "#shared/contracts/health";
import type { Result } from "#shared/result";
import { parseOrThrow } from "#shared/validation";
import { consumeBus } from "./bus";
import { consumeDeadLetters, recordDeadLetter } from "./dead-letters";
import { EventsRepository } from "./repository";
import { app } from "./routes";
import { DEAD_LETTER_QUEUES } from "./subscriptions";

/**
 * shop-events, the event bus. `queue` consumes the bus queue and the dead-letter queues; `fetch`
 * serves the admin HTTP app the gateway forwards to; the other methods are its RPC surface.
 */
export default class EventsService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  override async queue(batch: MessageBatch<unknown>): Promise<void> {
    const waitUntil = (promise: Promise<unknown>) => this.ctx.waitUntil(promise);
    if (batch.queue in DEAD_LETTER_QUEUES) await consumeDeadLetters(this.env, batch, waitUntil);
    else await consumeBus(this.env, batch, waitUntil);
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    return { status: "ok", service: "shop-events" };
  }

  /** Of these event ids, the ones the log holds (the producers' outbox sweeps ask). */
  async stored(ids: string[]): Promise<string[]> {
    return new EventsRepository(this.env.DB).stored(parseOrThrow(StoredQuerySchema, ids, "argument of stored()"));
  }

  /** How many dead letters wait for a redrive (for the operators' metrics and alerts). */
  waitingDeadLetters(): Promise<number> {
    return new EventsRepository(this.env.DB).countWaitingDeadLetters();
  }

  recordDeadLetter(input: DeadLetterInput): Promise<Result<{ recorded: true }>> {
    return recordDeadLetter(this.env, input);
  }
}
