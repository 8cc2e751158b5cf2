import { DurableObject } from "cloudflare:workers";
import * as z from "zod";
import { intVar, readConfig } from "#shared/config";
import { createLogger, errorFields } from "#shared/log";
import { type OutboxBindings, type SweepReport, sweepOutbox } from "./outbox";

export interface OutboxRelayEnv extends OutboxBindings {
  /** How often the relay runs while the outbox holds rows (default 10 s). */
  OUTBOX_SWEEP_INTERVAL_MS?: string;
  /** How long a row waits after a send before it is checked (and sent again if missing; default 10 s). */
  OUTBOX_RESEND_AFTER_MS?: string;
}

const RelayVarsSchema = z.object({
  OUTBOX_SWEEP_INTERVAL_MS: intVar(10, { fallback: 10_000 }),
  OUTBOX_RESEND_AFTER_MS: intVar(0, { fallback: 10_000 }),
});

export function relayConfig(env: OutboxRelayEnv) {
  const vars = readConfig(RelayVarsSchema, env);
  return { intervalMs: vars.OUTBOX_SWEEP_INTERVAL_MS, resendAfterMs: vars.OUTBOX_RESEND_AFTER_MS };
}

/**
 * The outbox relay: one object per producing service (named "outbox"), whose alarm runs
 * `sweepOutbox` until the outbox is empty. Cron triggers do not fire under `wrangler dev`, alarms
 * do, everywhere, and survive restarts. Every flush and every health check wakes it; an idle relay
 * costs nothing (a flush asks it at most once per alarm period per isolate). Each producing Worker exports a subclass as `OutboxRelay`.
 */
export class OutboxRelayObject<Env extends OutboxRelayEnv> extends DurableObject<Env> {
  readonly #log = createLogger({ service: "outbox-relay" });

  /** Makes sure the alarm is set and answers when it fires (epoch ms); cheap and idempotent. */
  async ensureScheduled(): Promise<number> {
    const current = await this.ctx.storage.getAlarm();
    if (current !== null) return current;
    const at = Date.now() + relayConfig(this.env).intervalMs;
    await this.ctx.storage.setAlarm(at);
    return at;
  }

  /** One pass (also what tests and operators call to settle the outbox now). */
  async sweep(options: { resendAfterMs?: number } = {}): Promise<SweepReport> {
    const report = await sweepOutbox(this.env, {
      resendAfterMs: options.resendAfterMs ?? relayConfig(this.env).resendAfterMs,
    });
    if (report.confirmed > 0 || report.resent > 0) this.#log.info("outbox sweep", { ...report });
    return report;
  }

  override async alarm(): Promise<void> {
    let remaining = 1;
    try {
      remaining = (await this.sweep()).remaining;
    } catch (error) {
      // shop-events or the queue is down: keep the rows and try again next time.
      this.#log.warn("outbox sweep failed", errorFields(error));
    }
    if (remaining > 0) await this.ctx.storage.setAlarm(Date.now() + relayConfig(this.env).intervalMs);
  }
}
