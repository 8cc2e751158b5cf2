/**
 * `npm run test:console`: the operations console (/admin) in a real browser against the whole
 * running system. Starts `npm run dev` on its own ports (CONSOLE_PORT, default 8990; the simulator
 * on the next) with a 5 s saga deadline and compensation budget, drives Debian's Chromium with
 * playwright-core, and checks what an operator sees:
 *   sign in; health; a provider outage set on the faults page makes a saga time out and its
 *   compensation fail; after clearing the fault, Retry on the sagas page ends it `cancelled`; the
 *   order's story on the events page; a dead letter (a notification that failed every retry under
 *   an injected consumer fault) redriven; the audit entry of a role change with
 *   the chain verified; metrics and breakers. While the compensation has failed, the alerts page
 *   shows `saga_compensation_failed` firing (evaluated every 5 s here) and the check's own webhook
 *   receiver (CONSOLE_PORT + 2) gets its Slack-style message and the local sender records its
 *   operator email; after the retry the alert resolves, on the page, at the webhook and by email. No page may break its CSP.
 * Saves a screenshot of each page to docs/screenshots/. Needs `chromium` (`apt-get install chromium`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Locator, type Page } from "playwright-core";
import { ROOT, wrangler } from "./lib.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.error(`No browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM).`);
  process.exit(1);
}
const PORT = Number(process.env.CONSOLE_PORT ?? 8990);
// CONSOLE_REUSE=1 checks a system already started on CONSOLE_PORT with the same --var flags.
const REUSE = process.env.CONSOLE_REUSE === "1";
const BASE = `http://127.0.0.1:${PORT}`;
const SHOTS = join(ROOT, "docs", "screenshots");
const ADMIN = {
  email: process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  password: process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
};
const WAIT = 120_000;
const WEBHOOK_PORT = PORT + 2;
const STATE = mkdtempSync(join(tmpdir(), "edge-shop-console-"));

/** The alerts webhook (Slack-compatible JSON) as an operator's chat would receive it. */
const webhook: { text: string; alert: { rule?: string; notification?: string } }[] = [];
const receiver = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => {
    body += chunk;
  });
  request.on("end", () => {
    try {
      webhook.push(JSON.parse(body));
    } catch {
      webhook.push({ text: body, alert: {} });
    }
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});

/**
 * Waits until the local sender recorded the operator email for `rule` and `tag` ("FIRING",
 * "RESOLVED"): notifications-db's `deliveries`, read with `wrangler d1 execute` on this run's state.
 */
async function emailGot(rule: string, tag: string): Promise<void> {
  const deadline = Date.now() + WAIT;
  const subject = `[edge-shop] ${tag}: ${rule}`;
  for (;;) {
    const out = await wrangler(
      [
        ...["d1", "execute", "notifications-db", "--local", "--json"],
        ...["--persist-to", join(STATE, "state"), "-c", "workers/notifications/wrangler.toml"],
        ...["--command", `SELECT to_address FROM deliveries WHERE channel = 'email' AND subject = '${subject}'`],
      ],
      { quiet: true },
    );
    // wrangler's output mixes its notices with the JSON: a row shows as its column.
    if (out.includes('"to_address"')) return;
    if (Date.now() > deadline) throw new Error(`no operator email "${subject}" in the local sender's records`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Waits until the webhook received `notification` for `rule`. */
async function webhookGot(rule: string, notification: string): Promise<void> {
  const deadline = Date.now() + WAIT;
  while (!webhook.some((m) => m.alert.rule === rule && m.alert.notification === notification)) {
    if (Date.now() > deadline) {
      throw new Error(
        `the webhook did not receive ${rule} ${notification} (got: ${webhook.map((m) => m.text).join(" | ")})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function startSystem(): ChildProcess | null {
  if (REUSE) return null;
  return spawn(
    process.execPath,
    [
      "scripts/dev.ts",
      ...["--var", "shop-orders:SAGA_DEADLINE_MS=5000"],
      ...["--var", "shop-orders:SAGA_COMPENSATION_BUDGET_MS=5000"],
      // Breakers probe again soon, so a cleared outage is seen within seconds.
      ...["--var", "shop-resilience:BREAKER_OPEN_MS=2000"],
      // A failing notification is retried at once, so its 10 retries end in a dead letter within seconds.
      ...["--var", "shop-notifications:NOTIFICATION_RETRY_BASE_SECONDS=0"],
      // Alerts are evaluated every 5 s (60 s by default); the check waits for the failed
      // compensation's alert before it retries, and its webhook receiver gets every notification.
      ...["--var", "shop-alerts:ALERT_EVALUATION_INTERVAL_MS=5000"],
      ...["--var", `shop-alerts:ALERT_WEBHOOK_URL=http://127.0.0.1:${WEBHOOK_PORT}/alerts`],
    ],
    {
      cwd: ROOT,
      // A state folder of its own (as `npm run smoke` does): every run starts fresh, and yours is untouched.
      env: { ...process.env, PORT: String(PORT), PSP_PORT: String(PORT + 1), DEV_STATE_DIR: STATE },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
}

async function waitForReady(dev: ChildProcess | null): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const ok = await fetch(`${BASE}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline || (dev && dev.exitCode !== null)) throw new Error("the system did not start");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Plain API calls for what a customer (not the console) does: register, order. */
async function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const data = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (!response.ok && response.status !== 202) {
    throw new Error(`${method} ${path} -> ${response.status} ${JSON.stringify(data)}`);
  }
  return data ?? {};
}

async function login(email: string, password: string): Promise<string> {
  return String((await call("POST", "/api/auth/login", undefined, { email, password })).accessToken);
}

/** Waits until the operator can see `locator`, or fails naming what was expected. */
async function see(locator: Locator, what: string, timeout = 15_000): Promise<void> {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch {
    throw new Error(`not seen: ${what}`);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  console.log(`  screenshot docs/screenshots/${name}.png`);
}

async function open(page: Page, name: string, heading: string): Promise<void> {
  await page.getByRole("navigation", { name: "Console pages" }).getByRole("link", { name, exact: true }).click();
  await see(page.getByRole("heading", { level: 2, name: heading }), `the ${heading} page`);
  await page.locator(".page-body:not([aria-busy])").waitFor();
}

/** Clicks a page's own submit button until `locator` shows (a list that fills in over time). */
async function until(page: Page, button: string, locator: Locator, what: string): Promise<void> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    if (await locator.first().isVisible()) return;
    if (Date.now() > deadline) throw new Error(`not seen within ${WAIT / 1000} s: ${what}`);
    await page.waitForTimeout(1500);
    await page.getByRole("button", { name: button, exact: true }).click();
    await page.locator(".page-body:not([aria-busy])").waitFor();
  }
}

async function check(page: Page): Promise<void> {
  const step = (text: string) => console.log(`console: ${text}`);
  await page.goto(`${BASE}/admin`);

  step("sign in");
  await see(page.getByRole("heading", { name: "Sign in as an administrator" }), "the sign-in form");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await see(page.getByRole("heading", { level: 2, name: "Health" }), "the health page after signing in");
  await see(
    page.getByRole("table", { name: "Services" }).getByText("orders"),
    "the orders service in the health table",
  );
  await shot(page, "health");

  // A customer with an order, through the public API (what the console watches, not what it does).
  const admin = await login(ADMIN.email, ADMIN.password);
  const email = `console-${Date.now()}@example.com`;
  const customer = await call("POST", "/api/auth/register", undefined, {
    email,
    password: "console-check-password",
    name: "Console Check",
  });
  const customerToken = await login(email, "console-check-password");
  const products = (await call("GET", "/api/products")).items as { id: string }[];
  const productId = products[0]?.id;
  if (!productId) throw new Error("no product to order");

  step("a provider outage from the faults page");
  await open(page, "Faults", "Faults");
  await page.getByLabel("Target").fill("psp");
  await page.getByLabel("error rate").fill("1");
  await page.getByRole("button", { name: "Set faults" }).click();
  await see(page.getByText("Faults set."), "the faults confirmation");
  await shot(page, "faults");

  const order = await call(
    "POST",
    "/api/orders",
    customerToken,
    { items: [{ productId, quantity: 1 }] },
    {
      "idempotency-key": `console-${Date.now()}`,
    },
  );
  const orderId = String(order.id);
  step(`order ${orderId} placed during the outage`);

  step("its saga times out and its compensation fails");
  await open(page, "Sagas", "Sagas");
  await page.getByLabel("Saga state").selectOption("compensation_failed");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  await until(page, "Filter", page.getByRole("link", { name: orderId }), `${orderId} in compensation_failed`);
  await shot(page, "sagas");
  await page.getByRole("link", { name: orderId }).click();
  await see(page.getByRole("heading", { name: `Order ${orderId}` }), "the order's timeline");
  await see(
    page.getByRole("list", { name: "Saga steps" }).getByText("Breaker's answer"),
    "each attempt with the breaker's answer",
  );
  await see(page.getByRole("button", { name: "Retry compensation" }), "the Retry button");
  await shot(page, "saga-timeline");

  step("the failed compensation fires an alert: on the alerts page, at the webhook and by email");
  const alertRow = (state: string) =>
    page
      .getByRole("table", { name: "Alerts, firing first" })
      .getByRole("row")
      .filter({ hasText: "saga_compensation_failed" })
      .filter({ hasText: state });
  await open(page, "Alerts", "Alerts");
  // The page refreshes itself every 10 s; an evaluation runs every 5 s.
  await see(alertRow("firing"), "saga_compensation_failed firing", WAIT);
  await see(alertRow("firing").getByText(orderId), `the alert naming ${orderId}`);
  await webhookGot("saga_compensation_failed", "firing");
  await emailGot("saga_compensation_failed", "FIRING");
  await shot(page, "alerts");

  step("clear the fault, retry from the sagas page: the saga ends cancelled");
  await open(page, "Faults", "Faults");
  await page.getByRole("button", { name: "Clear faults" }).click();
  await see(page.getByText("Faults set."), "the faults cleared");
  await page.goto(`${BASE}/admin#/sagas?order=${orderId}`);
  await see(page.getByRole("button", { name: "Retry compensation" }), "the Retry button again");
  await page.getByRole("button", { name: "Retry compensation" }).click();
  await see(page.getByText("Retry accepted"), "the retry accepted");
  await see(page.getByTestId("saga-state").getByText("cancelled", { exact: true }), "the saga cancelled", WAIT);
  await shot(page, "saga-retried");

  step("the order's story on the events page");
  await open(page, "Events", "Events");
  await page.getByLabel("Subject (an order, user or product id)").fill(orderId);
  await page.getByRole("button", { name: "Search" }).click();
  await see(page.getByRole("table", { name: `The story of ${orderId}, oldest first` }), "the order's story");
  await until(
    page,
    "Search",
    page.getByRole("cell", { name: "order.cancelled", exact: true }),
    "order.cancelled in the story",
  );
  await see(page.getByRole("cell", { name: "order.created", exact: true }), "order.created in the story");
  await shot(page, "events");

  step("redrive a dead letter");
  const deadLetterId = await seedDeadLetter(admin);
  await open(page, "Dead letters", "Dead letters");
  await see(page.getByRole("cell", { name: deadLetterId }), "the waiting dead letter");
  await shot(page, "dead-letters");
  await page.getByRole("button", { name: `Redrive ${deadLetterId}` }).click();
  await see(page.getByText("Redriven: 1 dead letter(s)."), "the redrive confirmation");
  await page.getByLabel("State").selectOption("redriven");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  await see(page.getByRole("cell", { name: deadLetterId }), "the dead letter among the redriven");

  step("the audit entry of a role change, with the chain verified");
  const userId = String(customer.id);
  await call("PUT", `/api/users/${userId}/role`, admin, { role: "admin" });
  await open(page, "Audit trail", "Audit trail");
  await see(page.getByText("chain verified"), "the chain verified");
  await page.getByLabel("Action").selectOption("user.role.set");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  const entry = page.getByRole("row").filter({ hasText: "user.role.set" }).filter({ hasText: userId });
  await see(entry, `the role change of ${userId}`);
  await see(entry.getByText('"admin"'), "the new role in the entry");
  await shot(page, "audit");

  step("the alert resolved after the retry: on the alerts page, at the webhook and by email");
  await open(page, "Alerts", "Alerts");
  await see(alertRow("resolved"), "saga_compensation_failed resolved", WAIT);
  await webhookGot("saga_compensation_failed", "resolved");
  await emailGot("saga_compensation_failed", "RESOLVED");
  await shot(page, "alerts-resolved");

  step("breakers and metrics");
  await open(page, "Circuit breakers", "Circuit breakers");
  await see(page.getByRole("table", { name: "Circuit breakers" }).getByText(/^psp/), "the provider breakers");
  await shot(page, "breakers");
  await open(page, "Metrics", "Metrics");
  await see(page.getByRole("img", { name: "Requests and 5xx errors over time" }), "the request chart");
  await see(page.getByRole("table", { name: "Requests by route" }).getByText("POST /api/orders"), "the orders route");
  await shot(page, "metrics");
}

/**
 * A dead letter to redrive, made the way a real one is: the notifications consumer is set to fail
 * every delivery (fault target "notifications"), a new customer registers, and the welcome message
 * fails every retry (this check's system retries at once) until the queue gives it up to its
 * dead-letter queue, where shop-events stores it. The fault is then cleared, so the redrive
 * delivers it.
 */
async function seedDeadLetter(admin: string): Promise<string> {
  await call("PUT", "/api/admin/faults", admin, { notifications: { errorRate: 1 } });
  try {
    const user = await call("POST", "/api/auth/register", undefined, {
      email: `dead-letter-${Date.now()}@example.com`,
      password: "console-check-password",
      name: "Dead Letter",
    });
    const deadline = Date.now() + WAIT;
    for (;;) {
      const waiting = (await call("GET", "/api/admin/dead-letters?queue=shop-notifications&state=waiting", admin))
        .items as { id: string; body: { subject?: string } }[];
      const letter = waiting.find((l) => l.body.subject === String(user.id));
      if (letter) return letter.id;
      if (Date.now() > deadline) throw new Error(`no dead letter for ${user.id} within ${WAIT / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await call("PUT", "/api/admin/faults", admin, { notifications: {} });
  }
}

mkdirSync(SHOTS, { recursive: true });
const dev = startSystem();
let output = "";
dev?.stdout?.on("data", (chunk) => {
  output = (output + chunk).slice(-20_000);
});
dev?.stderr?.on("data", (chunk) => {
  output = (output + chunk).slice(-20_000);
});
let failed = false;
await new Promise<void>((resolve) => receiver.listen(WEBHOOK_PORT, "127.0.0.1", resolve));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
try {
  await waitForReady(dev);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/.test(message.text())) {
      violations.push(message.text());
    }
  });
  page.on("pageerror", (error) => violations.push(`page error: ${error.message}`));
  await check(page);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  if (stored !== "{}") throw new Error(`the console stored something in the browser: ${stored}`);
  if (violations.length > 0) throw new Error(`CSP violations or page errors:\n${violations.join("\n")}`);
  console.log("console: every page works in Chromium under its CSP");
} catch (error) {
  console.error(`console: ${error instanceof Error ? error.message : String(error)}`);
  console.error(`--- npm run dev (last lines) ---\n${output.split("\n").slice(-40).join("\n")}`);
  failed = true;
} finally {
  await browser.close();
  receiver.close();
  try {
    if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
  } catch {
    // already gone
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  rmSync(STATE, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
