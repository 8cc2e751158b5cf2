import { describe, expect, it } from "vitest";
import { violations } from "../../scripts/check-boundaries";

describe("Worker boundaries (npm run check)", () => {
  it("refuses a Worker importing another Worker's code", () => {
    const found = violations({
      "workers/orders/src/place-order.ts": 'import { quote } from "../../catalog/src/products";\n',
    });
    expect(found).toEqual([
      {
        file: "workers/orders/src/place-order.ts",
        specifier: "../../catalog/src/products",
        reason: "orders imports catalog's code",
      },
    ]);
  });

  it("refuses shared code importing a Worker, in static and dynamic imports and re-exports", () => {
    const found = violations({
      "queues/outbox.ts": 'export { x } from "../workers/events/src/bus";\n',
      "durable-objects/rate-limiter/rate-limiter.ts": 'const m = await import("../../workers/gateway/src/config");\n',
      "workers/shared/src/http.ts": 'import type { Env } from "../../users/src/index";\n',
    });
    expect(found.map((v) => v.reason)).toEqual([
      "shared code imports events's code",
      "shared code imports gateway's code",
      "shared code imports users's code",
    ]);
  });

  it("allows a Worker's own code, shared code, queues and durable objects, and packages", () => {
    expect(
      violations({
        "workers/orders/src/routes.ts": [
          'import { Hono } from "hono";',
          'import { x } from "./place-order";',
          'import { y } from "#shared/result";',
          'import { z } from "#queues/outbox";',
          'import { w } from "#do/rate-limiter/sliding-window";',
          'import { u } from "../../shared/src/result";',
          'import { v } from "./saga/machine";',
        ].join("\n"),
        "test/orders/helpers.ts": 'import { OrdersRepository } from "../../workers/orders/src/repository";\n',
      }),
    ).toEqual([]);
  });

  it("takes the shared names as shared, refuses any other # name, and still refuses a relative import into another Worker", () => {
    const found = violations({
      "workers/orders/src/place-order.ts": [
        'import { problem } from "#shared/problem";',
        'import type { Outbox } from "#queues/outbox";',
        'export { CircuitBreaker } from "#do/circuit-breaker/circuit-breaker";',
        'import { quote } from "#catalog/products";',
        'import { reserve } from "../../catalog/src/reservations";',
      ].join("\n"),
      "durable-objects/audit-log/audit-log.ts": 'import { readConfig } from "#shared/config";\n',
    });
    expect(found).toEqual([
      {
        file: "workers/orders/src/place-order.ts",
        specifier: "#catalog/products",
        reason: "no such import name (shared code is #shared/*, #queues/*, #do/*)",
      },
      {
        file: "workers/orders/src/place-order.ts",
        specifier: "../../catalog/src/reservations",
        reason: "orders imports catalog's code",
      },
    ]);
  });
});
