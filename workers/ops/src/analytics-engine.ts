import * as z from "zod";
import { type QueryName, type QueryRows, queries, summarize } from "#do/metrics-store/queries";
import type { MetricsSummary, MetricsWindow } from "#shared/contracts/ops";

const AnswerSchema = z.object({ data: z.array(z.record(z.string(), z.unknown())) });

export interface AnalyticsEngineSettings {
  accountId: string;
  token: string;
  /** The dataset the Workers write (`analytics_engine_datasets` in their configs). */
  dataset: string;
  /** The SQL API's base; a test or a proxy may point it elsewhere. */
  apiBase?: string;
}

/**
 * Production metrics: the same questions as the local store, asked of the Analytics Engine SQL API
 * (`POST /accounts/{id}/analytics_engine/sql`, a token with "Account Analytics Read").
 */
export async function analyticsEngineSummary(
  settings: AnalyticsEngineSettings,
  window: MetricsWindow,
  fetcher: typeof fetch = fetch,
): Promise<MetricsSummary> {
  const base = settings.apiBase ?? "https://api.cloudflare.com/client/v4";
  const all = queries("analytics-engine", window, Date.now(), settings.dataset);
  const entries = await Promise.all(
    Object.entries(all).map(async ([name, query]) => {
      const response = await fetcher(`${base}/accounts/${settings.accountId}/analytics_engine/sql`, {
        method: "POST",
        headers: { authorization: `Bearer ${settings.token}` },
        body: `${query.sql} FORMAT JSON`,
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        throw new Error(
          `Analytics Engine answered ${response.status} to ${name}: ${(await response.text()).slice(0, 300)}`,
        );
      }
      return [name as QueryName, AnswerSchema.parse(await response.json()).data] as const;
    }),
  );
  return summarize(window, "analytics-engine", Object.fromEntries(entries) as QueryRows);
}
