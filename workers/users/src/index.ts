import { WorkerEntrypoint } from "cloudflare:workers";
import { outboxBacklog } from "#queues/outbox";
import type { OutboxBacklog } from "#shared/contracts/events";
import type { ServiceHealth } from "#shared/contracts/health";
import type { Jwks } from "#shared/contracts/users";
import { buildJwks } from "./keys";
import { app } from "./routes";

export { OutboxRelay } from "./outbox-relay";

/**
 * shop-users. `fetch` serves the HTTP app the gateway forwards public requests to; the other
 * methods are its RPC surface for other Workers.
 */
export default class UsersService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-users" };
  }

  /** What the outbox holds unconfirmed (shop-alerts' `outbox_stale`). */
  outboxBacklog(): Promise<OutboxBacklog> {
    return outboxBacklog(this.env.DB);
  }

  jwks(): Promise<Jwks> {
    return buildJwks(this.env.JWT_SIGNING_KEY, this.env.JWT_PREVIOUS_PUBLIC_KEYS);
  }
}
