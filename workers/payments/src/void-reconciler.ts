import { DurableObject } from "cloudflare:workers";
import { unitOfWork } from "#queues/outbox";
import { systemActor } from "#shared/contracts/common";
import { createLogger, errorFields } from "#shared/log";
import { deps } from "./deps";
import { recheckVoid } from "./payments";

/** Checks handled per alarm run; the alarm comes back at once while more are due. */
const BATCH = 25;
/** A check whose lookup keeps failing is retried with a doubling delay, capped at an hour. */
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

/**
 * VoidReconciler: one object ("reconciler") whose alarm takes the second look of voids that found
 * nothing at the provider (payments-db `void_checks`): an authorisation the provider processed
 * late is voided then, so no hold stays on a customer's card. Alarms survive restarts and run
 * under `wrangler dev` (cron triggers do not).
 */
export class VoidReconciler extends DurableObject<Env> {
  readonly #log = createLogger({ service: "shop-payments/void-reconciler" });

  /** Makes sure the alarm fires by `at` (epoch ms). */
  async wakeBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** One run over the due checks; returns what it did. */
  run(now = Date.now()): Promise<{ checked: string[]; voided: string[]; failed: string[] }> {
    // A timer acts on its own: its events' actor is the system.
    const cause = { traceparent: null, actor: systemActor("shop-payments/void-reconciler") };
    return unitOfWork(this.ctx, this.env, "shop-payments", cause, (outbox) => this.#run(deps(this.env, outbox), now));
  }

  async #run(
    d: ReturnType<typeof deps>,
    now: number,
  ): Promise<{ checked: string[]; voided: string[]; failed: string[] }> {
    const checked: string[] = [];
    const voided: string[] = [];
    const failed: string[] = [];
    for (const { orderId, failures } of await d.repo.dueVoidChecks(new Date(now).toISOString(), BATCH)) {
      try {
        const result = await recheckVoid(d, orderId);
        if (result.ok) {
          await d.repo.deleteVoidCheck(orderId);
          checked.push(orderId);
          if (result.value?.status === "voided") voided.push(orderId);
          continue;
        }
        failed.push(orderId);
        const delay = Math.min(MAX_RETRY_DELAY_MS, 30_000 * 2 ** failures);
        await d.repo.postponeVoidCheck(orderId, new Date(now + delay).toISOString());
      } catch (error) {
        failed.push(orderId);
        this.#log.error("void check failed; it is tried again", { orderId, ...errorFields(error) });
      }
    }
    if (checked.length > 0 || failed.length > 0) this.#log.info("void checks", { checked, voided, failed });
    return { checked, voided, failed };
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.run(now);
    const cause = { traceparent: null, actor: systemActor("shop-payments/void-reconciler") };
    const next = await unitOfWork(this.ctx, this.env, "shop-payments", cause, (outbox) =>
      deps(this.env, outbox).repo.nextVoidCheckAt(),
    );
    // A check that threw keeps its due time: come back in a minute rather than spin.
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(Date.parse(next), now + 1_000));
  }
}
