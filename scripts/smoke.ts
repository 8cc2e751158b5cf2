/**
 * `npm run smoke`: runs `npm run dev` on a spare port, waits until it reports ready, then uses the
 * API through the typed client as a program would (health, register, login, me, refresh, the
 * seeded admin, an order followed to the end, events, the login limit; a forged token raw) and
 * stops it. Proves the README's first command on this machine. Its system has its
 * own ports and its own state folder (`.wrangler/smoke-<port>`, removed after), so it can run
 * beside your `npm run dev` without reloading it or touching its data.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ShopClient, unwrap } from "../clients/typescript/src/index.ts";
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

// Locally wrangler dev passes the client's CF-Connecting-IP through (on Cloudflare the edge sets
// it): a fresh address per run keeps repeated runs out of each other's anonymous quota.
const clientIp = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
/** The typed client, as a program using the API would; no retries, so a step sees each status. */
const client = () => new ShopClient({ baseUrl: base, headers: { "cf-connecting-ip": clientIp }, maxRetries: 0 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  // A fresh state folder means every migration and seed first: on a loaded machine that takes minutes.
  const deadline = Date.now() + 420_000;
  while (!output.includes("edge-shop is ready")) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm run dev did not get ready:\n${output.slice(-3000)}`);
    await sleep(250);
  }
  const anyone = client();
  const admin = client();
  await step("GET /health is ok", async () => {
    const health = await anyone.api.GET("/health");
    expect(health.response.status === 200 && health.data?.status === "ok", `health: ${JSON.stringify(health.data)}`);
  });
  await step("the seeded admin can log in", async () => {
    await admin.login("admin@example.com", "admin-dev-password");
    const me = unwrap(await admin.api.GET("/api/users/me"));
    expect(me.role === "admin", `admin me: ${JSON.stringify(me)}`);
  });
  const email = `smoke-${Date.now()}@example.com`;
  const shopper = client();
  await step("register, login, me, refresh", async () => {
    const registered = await anyone.api.POST("/api/auth/register", {
      body: { email, password: "smoke-test-password", name: "Smoke" },
    });
    expect(registered.response.status === 201, `register: ${registered.response.status}`);
    const tokens = await shopper.login(email, "smoke-test-password");
    const me = await shopper.api.GET("/api/users/me");
    expect(me.response.status === 200 && me.data?.email === email, `me: ${JSON.stringify(me.data)}`);
    expect(me.response.headers.get("ratelimit-policy") === '"user";q=600;w=60', "RateLimit-Policy header");
    const refreshed = await anyone.api.POST("/api/auth/refresh", { body: { refreshToken: tokens.refreshToken } });
    expect(refreshed.response.status === 200, `refresh: ${refreshed.response.status}`);
    await shopper.login(email, "smoke-test-password");
  });
  await step("a forged token is a 401 invalid_token", async () => {
    // A raw request on purpose: the typed client sends only the tokens it was given.
    const forged = `${String(shopper.session?.accessToken).split(".").slice(0, 2).join(".")}.AAAA`;
    const me = await fetch(`${base}/api/users/me`, {
      headers: { authorization: `Bearer ${forged}`, "cf-connecting-ip": clientIp },
    });
    expect(
      me.status === 401 && (me.headers.get("www-authenticate") ?? "").includes("invalid_token"),
      `forged: ${me.status}`,
    );
  });
  await step("the JWKS and the docs are served", async () => {
    const jwks = unwrap(await anyone.api.GET("/.well-known/jwks.json"));
    expect(jwks.keys.length >= 1, "jwks");
    const docs = await fetch(`${base}/docs/swagger-ui-bundle.js`);
    expect(docs.status === 200, `docs asset: ${docs.status}`);
  });
  await step("an order completes its saga (stock, payment through the simulator)", async () => {
    const placed = await shopper.placeOrder([{ productId: "prd_01m6b5kx00seed000000000005", quantity: 1 }]);
    const order = await shopper.followOrder(placed.order.id, () => {}, { timeoutMs: 60_000 });
    expect(
      order.status === "confirmed" && order.saga.state === "completed",
      `order: ${JSON.stringify(order).slice(0, 300)}`,
    );
    const again = await shopper.placeOrder([{ productId: "prd_01m6b5kx00seed000000000005", quantity: 1 }], placed.key);
    expect(again.replayed && again.order.id === order.id, "the same Idempotency-Key replays the order");
  });
  await step("events: welcome email and SMS once each; the seeds' events are in the log", async () => {
    const phoneEmail = `smoke-phone-${Date.now()}@example.com`;
    const registered = await anyone.api.POST("/api/auth/register", {
      body: { email: phoneEmail, password: "smoke-test-password", name: "Phone", phone: "+14155550123" },
    });
    expect(registered.response.status === 201, `register with phone: ${registered.response.status}`);
    const phoneUser = client();
    await phoneUser.login(phoneEmail, "smoke-test-password");
    let told: { channel: string; template: string }[] = [];
    for (let i = 0; i < 80 && told.length < 2; i++) {
      await sleep(250);
      told = unwrap(await phoneUser.api.GET("/api/notifications")).items;
    }
    expect(
      told.length === 2 && told.every((n) => n.template === "user.created"),
      `notifications: ${JSON.stringify(told)}`,
    );
    // The relay sends what the seed scripts wrote within its interval (10 s).
    let seeded: unknown[] = [];
    for (let i = 0; i < 60 && seeded.length < 5; i++) {
      const query = { type: "product.created", limit: 100 } as const;
      seeded = unwrap(await admin.api.GET("/api/admin/events", { params: { query } })).items;
      if (seeded.length < 5) await sleep(500);
    }
    expect(seeded.length >= 5, `product.created events of the seed: ${seeded.length}`);
  });
  await step("the 11th login for one email within 15 minutes is a 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 11; i++) {
      const login = await anyone.api.POST("/api/auth/login", {
        body: { email: `nobody-${port}@example.com`, password: "wrong-password" },
      });
      statuses.push(login.response.status);
      retryAfter = login.response.headers.get("retry-after");
    }
    expect(statuses.slice(0, 10).every((s) => s === 401) && statuses[10] === 429, `statuses: ${statuses.join(",")}`);
    expect(Number(retryAfter) > 0, `retry-after: ${retryAfter}`);
  });
  console.log("smoke: all steps passed");
} catch (error) {
  console.error(String(error));
  console.error(`npm run dev's whole output: .wrangler/dev-${port}.log`);
  process.exitCode = 1;
} finally {
  stop();
  // wrangler lets go of its state files once it has stopped.
  await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("close", resolve)));
  rmSync(join(ROOT, stateDir), { recursive: true, force: true });
  if (!process.exitCode) rmSync(join(ROOT, ".wrangler", `dev-${port}.log`), { force: true });
}
