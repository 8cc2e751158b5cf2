import { WorkerEntrypoint } from "cloudflare:workers";
import type { ServiceHealth } from "../../shared/src/contracts/health";
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
    await consumeNotifications(this.env, batch);
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // A bad setting shows here (the service reports down) before any message fails on it.
    notificationsConfig(this.env);
    senderFor(this.env, new NotificationsRepository(this.env.DB));
    return { status: "ok", service: "shop-notifications" };
  }
}
