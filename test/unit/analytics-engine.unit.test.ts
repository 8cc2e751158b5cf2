import { describe, expect, it } from "vitest";
import { queries } from "#do/metrics-store/queries";
import { analyticsEngineSummary } from "../../workers/ops/src/analytics-engine";

const SETTINGS = { accountId: "0123456789abcdef0123456789abcdef", token: "read-token", dataset: "edge_shop_staging" };

/** A stand-in for the SQL API that records each request and answers with the given rows. */
function sqlApi(answer: (sql: string) => Response) {
  const requests: { url: string; auth: string | null; body: string }[] = [];
  const fetcher = async (input: string | URL | Request, init?: RequestInit) => {
    const body = String(init?.body ?? "");
    requests.push({ url: String(input), auth: new Headers(init?.headers).get("authorization"), body });
    return answer(body);
  };
  return { requests, fetcher: fetcher as typeof fetch };
}

describe("metrics from the Analytics Engine SQL API", () => {
  it("asks the account's SQL endpoint with the read token, of the environment's dataset, and shapes the answer", async () => {
    const api = sqlApi((sql) =>
      Response.json({
        data: sql.startsWith("SELECT SUM(_sample_interval) AS count, SUM(IF(double2 >= 500")
          ? [{ count: 40, errors: 4, p50: 12, p95: 80, p99: 120 }]
          : [],
      }),
    );
    const summary = await analyticsEngineSummary(SETTINGS, "15m", api.fetcher);

    expect(api.requests.length).toBe(Object.keys(queries("analytics-engine", "15m", Date.now())).length);
    for (const request of api.requests) {
      expect(request.url).toBe(
        `https://api.cloudflare.com/client/v4/accounts/${SETTINGS.accountId}/analytics_engine/sql`,
      );
      expect(request.auth).toBe("Bearer read-token");
      expect(request.body).toMatch(
        / FROM edge_shop_staging WHERE index1 = '[a-z_]+' AND timestamp > NOW\(\) - INTERVAL '900' SECOND/,
      );
      expect(request.body).not.toMatch(/FROM edge_shop WHERE/);
      expect(request.body.endsWith(" FORMAT JSON")).toBe(true);
    }
    expect(summary).toMatchObject({
      window: "15m",
      source: "analytics-engine",
      requests: { count: 40, errorRate: 0.1, p50: 12, p95: 80, p99: 120 },
    });
  });

  it("fails loudly when the API refuses (a wrong token is not an empty window)", async () => {
    const api = sqlApi(() => new Response("authentication error", { status: 401 }));
    await expect(analyticsEngineSummary(SETTINGS, "1h", api.fetcher)).rejects.toThrow(/answered 401/);
  });

  it("takes only a dataset name into its SQL", () => {
    expect(() => queries("analytics-engine", "15m", Date.now(), "edge_shop; DROP")).toThrow(/not a dataset name/);
    expect(() => queries("analytics-engine", "15m", Date.now(), "edge-shop")).toThrow(/not a dataset name/);
  });
});
