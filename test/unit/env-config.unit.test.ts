import { describe, expect, it } from "vitest";
import { DEPLOYABLE, environment } from "../../deploy/environments";
import { generateConfigs } from "../../scripts/env-config";

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
