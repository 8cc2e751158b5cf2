import { describe, expect, it } from "vitest";
import { DEPLOYABLE, environment } from "../../deploy/environments";
import { datasetOf, devOnlyProblems, generateConfigs } from "../../scripts/env-config";

describe("generated environment configs: traces", () => {
  it.each(DEPLOYABLE)("every Worker of %s traces, sampled at the environment's rate", (env) => {
    const { sampling } = environment(env).settings;
    const workers = generateConfigs(env);
    expect(workers.length).toBeGreaterThan(0);
    for (const worker of workers) {
      expect(worker.json.observability, worker.name).toMatchObject({
        enabled: true,
        head_sampling_rate: sampling,
        traces: { enabled: true, head_sampling_rate: sampling },
      });
    }
  });
});

describe("generated environment configs: metrics", () => {
  it.each(DEPLOYABLE)(
    "%s: every Worker writes the environment's own dataset, and shop-ops reads it from Analytics Engine",
    (env) => {
      const dataset = datasetOf("edge_shop", environment(env).settings.suffix);
      const workers = generateConfigs(env);
      const writers = workers.filter((w) => w.json.analytics_engine_datasets);
      expect(writers.length).toBeGreaterThan(3);
      for (const worker of writers) {
        expect(worker.json.analytics_engine_datasets, worker.name).toEqual([{ binding: "METRICS", dataset }]);
      }
      const ops = workers.find((w) => w.base === "shop-ops");
      expect(ops?.json.vars).toMatchObject({ METRICS_SOURCE: "analytics-engine", METRICS_DATASET: dataset });
      expect(devOnlyProblems(env, workers)).toEqual([]);
    },
  );

  it("staging's dataset is not production's", () => {
    expect(datasetOf("edge_shop", "-staging")).toBe("edge_shop_staging");
    expect(datasetOf("edge_shop", "")).toBe("edge_shop");
  });

  it("refuses the local metrics store in a deployed environment", () => {
    const workers = generateConfigs("staging").map((w) =>
      w.base === "shop-ops"
        ? { ...w, json: { ...w.json, vars: { ...(w.json.vars as object), METRICS_SOURCE: "local" } } }
        : w.base === "shop-orders"
          ? { ...w, json: { ...w.json, vars: { ...(w.json.vars as object), METRICS_LOCAL: "true" } } }
          : w,
    );
    const problems = devOnlyProblems("staging", workers);
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^shop-orders-staging .*METRICS_LOCAL/),
        expect.stringMatching(/^shop-ops-staging .*METRICS_SOURCE "local"/),
      ]),
    );
  });
});
