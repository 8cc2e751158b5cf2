import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers health", async () => {
  const res = await exports.default.fetch("https://gw/health");
  expect(await res.json()).toEqual({ status: "ok", services: { users: "ok" } });
});
