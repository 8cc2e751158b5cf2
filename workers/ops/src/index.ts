import { WorkerEntrypoint } from "cloudflare:workers";
import type { ServiceHealth } from "#shared/contracts/health";
import { type AuditEntry, AuditInputSchema, type MetricsSummary, MetricsWindowSchema } from "#shared/contracts/ops";
import { createLogger, errorFields } from "#shared/log";
import { METRICS_STORE_NAME } from "#shared/metrics";
import { fail, ok, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import { analyticsEngineSummary } from "./analytics-engine";
import { consumeAuditEvents } from "./audit-events";
import { opsConfig } from "./config";
import { app } from "./routes";
import { auditTrail } from "./trail";

export { AuditLog } from "#do/audit-log/audit-log";
export { MetricsStore } from "#do/metrics-store/metrics-store";

/**
 * shop-ops: the audit trail and the metrics source. `fetch` serves the admin HTTP app the gateway
 * forwards to; `audit()` and `metrics()` are its RPC surface; `queue` consumes `shop-audit`, the
 * events that are the only record of a privileged action (`audit-events.ts`).
 */
export default class OpsService extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  override async queue(batch: MessageBatch<unknown>): Promise<void> {
    await consumeAuditEvents(this.env, batch, (promise) => this.ctx.waitUntil(promise));
  }

  async health(): Promise<ServiceHealth> {
    opsConfig(this.env);
    return { status: "ok", service: "shop-ops" };
  }

  /** Records one privileged action in the chain (once per request id, action and target). */
  async audit(input: unknown): Promise<Result<AuditEntry>> {
    const parsed = parseResult(AuditInputSchema, input);
    if (!parsed.ok) return parsed;
    return ok(await auditTrail(this.env).append(parsed.value));
  }

  /** Requests, sagas and breaker transitions over a window, from the configured source. */
  async metrics(window: unknown): Promise<Result<MetricsSummary>> {
    const parsed = parseResult(MetricsWindowSchema, window);
    if (!parsed.ok) return parsed;
    const config = opsConfig(this.env);
    if (config.METRICS_SOURCE === "local") {
      return ok(await this.env.METRICS_STORE.getByName(METRICS_STORE_NAME).summary(parsed.value));
    }
    if (!config.CF_ACCOUNT_ID || !config.CF_ANALYTICS_TOKEN) {
      return fail(
        "unavailable",
        "Analytics Engine is the metrics source but CF_ACCOUNT_ID or CF_ANALYTICS_TOKEN is unset.",
      );
    }
    try {
      return ok(
        await analyticsEngineSummary(
          { accountId: config.CF_ACCOUNT_ID, token: config.CF_ANALYTICS_TOKEN, dataset: config.METRICS_DATASET },
          parsed.value,
        ),
      );
    } catch (error) {
      createLogger({ service: "shop-ops" }).error("metrics query failed", errorFields(error));
      return fail("bad_gateway", "Analytics Engine did not answer.");
    }
  }
}
