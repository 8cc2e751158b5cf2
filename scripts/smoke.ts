/**
 * `npm run smoke`: runs `npm run dev` on a spare port, waits until it reports ready, then uses the
 * API as a person would with curl (health, register, login, me, refresh, a forged token, the
 * seeded admin) and stops it. Proves the README's first command on this machine. Its system has its
 * own ports and its own state folder (`.wrangler/smoke-<port>`, removed after), so it can run
 * beside your `npm run dev` without reloading it or touching its data.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ShopClient } from "../clients/typescript/src/index.ts";
import { ApiClient } from "./api-client.ts";
import { freeDevPort, ROOT } from "./lib.ts";

const port = Number(process.env.SMOKE_PORT || (await freeDevPort()));
const base = `http://127.0.0.1:${port}`;
// A state folder of its own: beside a running `npm run dev`, smoke neither sees nor changes its data.
const stateDir = join(".wrangler", `smoke-${port}`);
const child = spawn(process.execPath, ["scripts/dev.ts"], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), DEV_STATE_DIR: stateDir },
  stdio: ["ignore", "pipe", "pipe"],
  detached: true,
});
let output = "";
child.stdout.on("data", (chunk) => {
  output += chunk;
});
child.stderr.on("data", (chunk) => {
  output += chunk;
});

function stop(): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

async function step(name: string, check: () => Promise<void>): Promise<void> {
  await check();
  console.log(`ok: ${name}`);
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const api = new ApiClient(base);
const json = (path: string, init: RequestInit = {}) => api.request(path, init);
const post = (path: string, body: unknown, token?: string) => api.request(path, { json: body, token });

try {
  const deadline = Date.now() + 180_000;
  while (!output.includes("edge-shop is ready")) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm run dev did not get ready:\n${output.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await step("GET /health is ok", async () => {
    const health = await json("/health");
    expect(health.status === 200 && health.body.status === "ok", `health: ${JSON.stringify(health.body)}`);
  });
  await step("the seeded admin can log in", async () => {
    const login = await post("/api/auth/login", { email: "admin@example.com", password: "admin-dev-password" });
    expect(login.status === 200, `admin login: ${login.status} ${JSON.stringify(login.body)}`);
    const me = await json("/api/users/me", { headers: { authorization: `Bearer ${login.body.accessToken}` } });
    expect(me.body.role === "admin", `admin me: ${JSON.stringify(me.body)}`);
  });
  const email = `smoke-${Date.now()}@example.com`;
  let tokens: Record<string, unknown> = {};
  await step("register, login, me, refresh", async () => {
    const registered = await post("/api/auth/register", { email, password: "smoke-test-password", name: "Smoke" });
    expect(registered.status === 201, `register: ${registered.status}`);
    const login = await post("/api/auth/login", { email, password: "smoke-test-password" });
    expect(login.status === 200, `login: ${login.status}`);
    tokens = login.body;
    const me = await json("/api/users/me", { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    expect(me.status === 200 && me.body.email === email, `me: ${JSON.stringify(me.body)}`);
    const refreshed = await post("/api/auth/refresh", { refreshToken: tokens.refreshToken });
    expect(refreshed.status === 200, `refresh: ${refreshed.status}`);
    expect(me.headers.get("ratelimit-policy") === '"user";q=600;w=60', "RateLimit-Policy header");
  });
  await step("a forged token is a 401 invalid_token", async () => {
    const forged = `${String(tokens.accessToken).split(".").slice(0, 2).join(".")}.AAAA`;
    const me = await json("/api/users/me", { headers: { authorization: `Bearer ${forged}` } });
    expect(
      me.status === 401 && (me.headers.get("www-authenticate") ?? "").includes("invalid_token"),
      `forged: ${me.status}`,
    );
  });
  await step("the JWKS and the docs are served", async () => {
    const jwks = await json("/.well-known/jwks.json");
    expect(Array.isArray(jwks.body.keys) && (jwks.body.keys as unknown[]).length >= 1, "jwks");
    const docs = await fetch(`${base}/docs/swagger-ui-bundle.js`);
    expect(docs.status === 200, `docs asset: ${docs.status}`);
  });
  await step(
    "an order completes its saga, through the typed client (stock, payment through the simulator)",
    async () => {
      const shop = new ShopClient({ baseUrl: base, headers: { "cf-connecting-ip": api.clientIp } });
      await shop.login(email, "smoke-test-password");
      const placed = await shop.placeOrder([{ productId: "prd_01m6b5kx00seed000000000005", quantity: 1 }]);
      const order = await shop.followOrder(placed.order.id, () => {}, { timeoutMs: 60_000 });
      expect(
        order.status === "confirmed" && order.saga.state === "completed",
        `order: ${JSON.stringify(order).slice(0, 300)}`,
      );
      const again = await shop.placeOrder([{ productId: "prd_01m6b5kx00seed000000000005", quantity: 1 }], placed.key);
      expect(again.replayed && again.order.id === order.id, "the same Idempotency-Key replays the order");
    },
  );
  await step("events: welcome email and SMS once each; the seeds' events are in the log", async () => {
    const phoneEmail = `smoke-phone-${Date.now()}@example.com`;
    const registered = await post("/api/auth/register", {
      email: phoneEmail,
      password: "smoke-test-password",
      name: "Phone",
      phone: "+14155550123",
    });
    expect(registered.status === 201, `register with phone: ${registered.status}`);
    const token = String(
      (await post("/api/auth/login", { email: phoneEmail, password: "smoke-test-password" })).body.accessToken,
    );
    let told: { channel: string; template: string }[] = [];
    for (let i = 0; i < 80 && told.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      told = (await api.request("/api/notifications", { token })).body.items as typeof told;
    }
    expect(
      told.length === 2 && told.every((n) => n.template === "user.created"),
      `notifications: ${JSON.stringify(told)}`,
    );
    const adminToken = String(
      (await post("/api/auth/login", { email: "admin@example.com", password: "admin-dev-password" })).body.accessToken,
    );
    // The relay sends what the seed scripts wrote within its interval (10 s).
    let seeded: unknown[] = [];
    for (let i = 0; i < 60 && seeded.length < 5; i++) {
      seeded = (await api.request("/api/admin/events?type=product.created&limit=100", { token: adminToken })).body
        .items as unknown[];
      if (seeded.length < 5) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(seeded.length >= 5, `product.created events of the seed: ${seeded.length}`);
  });
  await step("the 11th login for one email within 15 minutes is a 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 11; i++) {
      const login = await post("/api/auth/login", { email: `nobody-${port}@example.com`, password: "wrong-password" });
      statuses.push(login.status);
      retryAfter = login.headers.get("retry-after");
    }
    expect(statuses.slice(0, 10).every((s) => s === 401) && statuses[10] === 429, `statuses: ${statuses.join(",")}`);
    expect(Number(retryAfter) > 0, `retry-after: ${retryAfter}`);
  });
  console.log("smoke: all steps passed");
} catch (error) {
  console.error(String(error));
  process.exitCode = 1;
} finally {
  stop();
  // wrangler lets go of its state files once it has stopped.
  await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("close", resolve)));
  rmSync(join(ROOT, stateDir), { recursive: true, force: true });
}
