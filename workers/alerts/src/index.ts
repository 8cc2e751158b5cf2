import { WorkerEntrypoint } from "cloudflare:workers";
import type { ServiceHealth } from "#shared/contracts/health";
import { alertManager } from "./manager";
import { app } from "./routes";
import { alertConfig } from "./rules";

export { AlertManager } from "./alert-manager";

/**
 * shop-alerts: evaluates the alert rules on its AlertManager object's alarm and delivers them.
 * `fetch` serves `GET /api/admin/alerts` (the gateway forwards to it); `health()` also starts the
 * evaluation timer the first time it is asked.
 */
export default class AlertsService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  async health(): Promise<ServiceHealth> {
    alertConfig(this.env);
    await alertManager(this.env).ensureScheduled();
    return { status: "ok", service: "shop-alerts" };
  }
}
