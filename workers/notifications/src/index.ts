import { WorkerEntrypoint } from "cloudflare:workers";
import { faultsEnabled } from "#shared/config";
import { OperatorEmailSchema } from "#shared/contracts/alerts";
import { type ConsumerFaults, ConsumerFaultsSchema } from "#shared/contracts/faults";
import type { ServiceHealth } from "#shared/contracts/health";
import { createLogger, errorFields } from "#shared/log";
import { fail, ok, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import { notificationsConfig } from "./config";
import { consumeNotifications } from "./consumer";
import { NotificationsRepository } from "./repository";
import { app } from "./routes";
import { senderFor } from "./sender";

/**
 * shop-notifications: `queue` consumes the `shop-notifications` queue (events from shop-events),
 * `fetch` serves the HTTP app the gateway forwards `/api/notifications` to.
 */
export default class NotificationsService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  override async queue(batch: MessageBatch<unknown>): Promise<void> {
    await consumeNotifications(this.env, batch, (promise) => this.ctx.waitUntil(promise));
  }

  /**
   * An operator's email (alerts) through the configured sender: the local one records it in
   * `deliveries`; the HTTP one sends the idempotency key, so a retried send is one email.
   */
  async sendOperatorEmail(input: unknown): Promise<Result<{ sent: true }>> {
    const parsed = parseResult(OperatorEmailSchema, input);
    if (!parsed.ok) return parsed;
    const { to, subject, body, idempotencyKey } = parsed.value;
    try {
      await senderFor(this.env, new NotificationsRepository(this.env.DB)).send({
        notificationId: idempotencyKey,
        channel: "email",
        to,
        subject,
        body,
        traceparent: null,
      });
      return ok({ sent: true });
    } catch (error) {
      createLogger({ service: "shop-notifications" }).error("operator email failed", errorFields(error));
      return fail("bad_gateway", "The email provider did not accept the message.");
    }
  }

  /** Faults of the consumer (only where FAULTS_ENABLED = "true"; elsewhere the feature does not exist). */
  async setFaults(faults: unknown): Promise<Result<ConsumerFaults>> {
    if (!faultsEnabled(this.env)) return fail("not_found", "Faults cannot be set here.");
    const checked = parseResult(ConsumerFaultsSchema, faults);
    if (!checked.ok) return checked;
    const repo = new NotificationsRepository(this.env.DB);
    return ok(await repo.updateConsumerFaults(checked.value, new Date().toISOString()));
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // A bad setting shows here (the service reports down) before any message fails on it.
    notificationsConfig(this.env);
    senderFor(this.env, new NotificationsRepository(this.env.DB));
    return { status: "ok", service: "shop-notifications" };
  }
}
