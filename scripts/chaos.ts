/**
 * `npm run chaos`: attacks the whole running system over HTTP, then checks every invariant of
 * SPEC.md section 6 it can observe, prints a table and exits non-zero on any violation.
 *
 * The attack: many users place orders (multi-line, on dedicated products with scarce stock), some
 * submitted several times with one Idempotency-Key, some cancelled by their customer at random
 * moments (before and after confirmation), some shipped by an admin; the provider is flaky, then
 * down for a long outage in the middle, then flaky again; the saga's own dependencies (catalog,
 * payments) fail ambiguously when the gateway accepts those fault targets; the whole system is
 * restarted while sagas are in flight (only when chaos started it); at the end the event log is
 * replayed to notifications. Then faults are cleared and every order must come to rest.
 *
 * Runs against http://127.0.0.1:${PORT:-8787}; when nothing answers there it starts `npm run dev`
 * itself (with the saga settings below) and stops it at the end. Only 127.0.0.1 is ever called.
 *
 * Flags (or env CHAOS_<FLAG>, e.g. CHAOS_ORDERS=100); durations as 500ms, 30s, 10m or seconds:
 *   --orders 1000          orders to place              --users orders/10 (at least 10)
 *   --products 8           dedicated products           --stock 0.4*orders per product (scarce)
 *   --concurrency 24       requests in flight at most   --admins 4 (admin reads are spread over them)
 *   --duplicate-rate 0.1   --cancel-rate 0.15           --ship-rate 0.2
 *   --outage 10m           total provider outage        --flaky-after 60s (flaky faults after it)
 *   --settle-timeout 15m   how long orders may take to come to rest once faults are cleared
 *   --story-timeout 10m    how long an order's events (and its notifications) may trail it in the
 *                          event log before a missing one counts as a violation
 *   --saga-deadline, --compensation-budget, --compensation-backoff-cap: passed to shop-orders
 *      (SAGA_DEADLINE_MS, SAGA_COMPENSATION_BUDGET_MS, SAGA_COMPENSATION_BACKOFF_CAP_MS) when
 *      chaos starts the system; ignored (with a warning) against a running one.
 *   --no-restart           do not restart the system it started
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { pspPort, ROOT } from "./lib.ts";

// ---------------------------------------------------------------------------------------------
// Configuration

const { values: flags } = parseArgs({
  options: {
    orders: { type: "string" },
    users: { type: "string" },
    products: { type: "string" },
    stock: { type: "string" },
    concurrency: { type: "string" },
    admins: { type: "string" },
    "duplicate-rate": { type: "string" },
    "cancel-rate": { type: "string" },
    "ship-rate": { type: "string" },
    outage: { type: "string" },
    "flaky-after": { type: "string" },
    "settle-timeout": { type: "string" },
    "story-timeout": { type: "string" },
    "saga-deadline": { type: "string" },
    "compensation-budget": { type: "string" },
    "compensation-backoff-cap": { type: "string" },
    "breaker-open": { type: "string" },
    "no-restart": { type: "boolean" },
  },
});

function setting(name: keyof typeof flags): string | undefined {
  const value = flags[name];
  if (typeof value === "string") return value;
  return process.env[`CHAOS_${name.toUpperCase().replaceAll("-", "_")}`] || undefined;
}

function durationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (e.g. 500ms, 30s, 10m)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] as number;
  return Math.round(Number(match[1]) * unit);
}

const num = (name: keyof typeof flags, fallback: number) => Number(setting(name) ?? fallback);
const dur = (name: keyof typeof flags, fallback: string) => durationMs(setting(name) ?? fallback);
const optionalDur = (name: keyof typeof flags) => {
  const value = setting(name);
  return value === undefined ? undefined : durationMs(value);
};

const ORDERS = num("orders", 1000);
const config = {
  orders: ORDERS,
  users: num("users", Math.max(10, Math.ceil(ORDERS / 10))),
  products: num("products", 8),
  stock: num("stock", Math.max(5, Math.ceil(ORDERS * 0.4))),
  concurrency: num("concurrency", 24),
  admins: num("admins", 4),
  duplicateRate: num("duplicate-rate", 0.1),
  cancelRate: num("cancel-rate", 0.15),
  shipRate: num("ship-rate", 0.2),
  outageMs: dur("outage", "10m"),
  flakyAfterMs: dur("flaky-after", "60s"),
  settleTimeoutMs: dur("settle-timeout", "15m"),
  storyTimeoutMs: dur("story-timeout", "10m"),
  sagaDeadlineMs: optionalDur("saga-deadline"),
  compensationBudgetMs: optionalDur("compensation-budget"),
  compensationBackoffCapMs: optionalDur("compensation-backoff-cap"),
  breakerOpenMs: optionalDur("breaker-open"),
  restart: !flags["no-restart"],
};
const PORT = Number(process.env.PORT || 8787);
const BASE = `http://127.0.0.1:${PORT}`;
const PSP = `http://127.0.0.1:${pspPort(PORT)}`;
const ADMIN = {
  email: process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  password: process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
};
const RUN = Date.now().toString(36);
const PASSWORD = "chaos-monkey-password";

const FLAKY_PSP = { errorRate: 0.3, declineRate: 0.1, timeoutRate: 0.02, latencyMs: 50 };
const OUTAGE_PSP = { errorRate: 1 };
const DEPENDENCY_FAULTS = {
  catalog: { errorRate: 0.1, ambiguousRate: 0.1, latencyMs: 20 },
  payments: { errorRate: 0.1, ambiguousRate: 0.1 },
};

const started = Date.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const log = (message: string) => console.log(`[chaos ${elapsed().padStart(5)}] ${message}`);
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const chance = (p: number) => Math.random() < p;

// ---------------------------------------------------------------------------------------------
// HTTP: bounded concurrency, 127.0.0.1 only, 429 honoured, connection failures ridden out

class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const inFlight = new Semaphore(config.concurrency);
const stats = { requests: 0, throttled: 0, connectionErrors: 0, serverErrors: 0 };
/** Set while chaos restarts the system: requests wait instead of failing. */
let systemDown: Promise<void> | null = null;

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

let ipCounter = 0;
/** A distinct client address per simulated client (wrangler dev passes CF-Connecting-IP through). */
function nextIp(): string {
  ipCounter++;
  return `198.51.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

async function http(url: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const patience = Date.now() + 300_000;
  for (let attempt = 0; ; attempt++) {
    if (systemDown) await systemDown;
    try {
      const reply = await inFlight.run(async (): Promise<Reply> => {
        stats.requests++;
        const response = await fetch(url, {
          method: init.method ?? (init.json === undefined ? "GET" : "POST"),
          headers,
          body: init.json === undefined ? undefined : JSON.stringify(init.json),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        let body: Record<string, unknown> = {};
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          body = { text };
        }
        return { status: response.status, body, headers: response.headers };
      });
      if (reply.status === 429) {
        stats.throttled++;
        await sleep(Math.max(1, Number(reply.headers.get("retry-after") ?? 1)) * 1000);
        continue;
      }
      if (reply.status >= 500) stats.serverErrors++;
      return reply;
    } catch (error) {
      stats.connectionErrors++;
      if (Date.now() > patience) throw error;
      await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
    }
  }
}

/** The `exp` of a JWT, in epoch ms (0 when it cannot be read). */
function tokenExpiry(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.exp === "number" ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** A simulated client: its own address, its own account, a token it renews when it expires. */
class Client {
  readonly ip = nextIp();
  token = "";
  id = "";
  readonly email: string;
  readonly password: string;
  constructor(email: string, password: string) {
    this.email = email;
    this.password = password;
  }

  #loggingIn: Promise<void> | null = null;

  /**
   * One login at a time per client: the calls in flight when its token expires all see 401 at
   * once, and as many logins would exceed the login quota (10 per 900 s) and wait out its window.
   */
  login(): Promise<void> {
    this.#loggingIn ??= this.#login().finally(() => {
      this.#loggingIn = null;
    });
    return this.#loggingIn;
  }

  async #login(): Promise<void> {
    const reply = await http(`${BASE}/api/auth/login`, {
      headers: { "cf-connecting-ip": this.ip },
      json: { email: this.email, password: this.password },
    });
    if (reply.status !== 200) throw new Error(`login ${this.email}: ${reply.status} ${JSON.stringify(reply.body)}`);
    this.token = String(reply.body.accessToken);
    this.expiresAt = tokenExpiry(this.token);
  }

  /** Epoch ms at which the access token expires (0: unknown). */
  expiresAt = 0;

  async call(path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}) {
    for (let attempt = 0; ; attempt++) {
      // Renew before expiry, as a real client does: a request with an expired token is anonymous
      // to the gateway's limiter (SPEC section 3), and many of them would use up this address's
      // anonymous quota (100 per 900 s) and stall the run for a quarter of an hour.
      if (this.expiresAt && Date.now() > this.expiresAt - 60_000) await this.login();
      const token = this.token;
      const reply = await http(`${BASE}${path}`, {
        ...init,
        headers: { ...init.headers, "cf-connecting-ip": this.ip, authorization: `Bearer ${token}` },
      });
      if (reply.status !== 401 || attempt > 0) return reply;
      // access tokens live 15 minutes and a run lasts longer; another call may have renewed it
      if (this.token === token) await this.login();
    }
  }

  /** Every item of a paged list. */
  async all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const reply = await this.call(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      items.push(...(reply.body.items as T[]));
      cursor = (reply.body.nextCursor as string | null) ?? null;
    } while (cursor);
    return items;
  }
}

// ---------------------------------------------------------------------------------------------
// The system under attack: the running one, or one chaos starts (and restarts) itself

let devProcess: ChildProcess | null = null;
let devOutput = "";

async function healthy(): Promise<boolean> {
  try {
    const response = await fetch(`${BASE}/health`, { signal: AbortSignal.timeout(5_000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function startSystem(): Promise<void> {
  const vars: [string, number | undefined][] = [
    ["SAGA_DEADLINE_MS", config.sagaDeadlineMs],
    ["SAGA_COMPENSATION_BUDGET_MS", config.compensationBudgetMs],
    ["SAGA_COMPENSATION_BACKOFF_CAP_MS", config.compensationBackoffCapMs],
  ];
  const args = vars.flatMap(([name, value]) => (value === undefined ? [] : ["--var", `shop-orders:${name}=${value}`]));
  // A shorter open time lets a small run with a short saga deadline see breakers close again.
  if (config.breakerOpenMs !== undefined) args.push("--var", `shop-resilience:BREAKER_OPEN_MS=${config.breakerOpenMs}`);
  devOutput = "";
  const child = spawn(process.execPath, ["scripts/dev.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(PORT), PSP_PORT: String(pspPort(PORT)) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: chaos stops wrangler and workerd with it
  });
  devProcess = child;
  const keep = (chunk: Buffer) => {
    devOutput = (devOutput + chunk).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const deadline = Date.now() + 240_000;
  while (!devOutput.includes("edge-shop is ready") || !(await healthy())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`npm run dev did not get ready:\n${devOutput.slice(-3000)}`);
    }
    await sleep(500);
  }
}

async function stopSystem(): Promise<void> {
  const child = devProcess;
  if (!child?.pid) return;
  devProcess = null;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.on("exit", () => resolve());
  });
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  if (await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)])) {
    await sleep(1_000); // let workerd release the ports and the state files
  } else signal("SIGKILL");
  // wrangler's children may outlive it briefly: wait until nothing answers
  for (let i = 0; i < 40 && (await healthy()); i++) await sleep(500);
}

// ---------------------------------------------------------------------------------------------
// Faults

let dependencyFaults = true;
let currentFaults: Record<string, unknown> = {};
let phase = "setup";

/**
 * PUT /api/admin/faults; a 5xx (the provider's admin API is slow on a loaded machine) is tried
 * again with a growing pause, for about five minutes.
 */
async function putFaults(admin: Client, faults: Record<string, unknown>): Promise<Reply> {
  for (let attempt = 0; ; attempt++) {
    const reply = await admin.call("/api/admin/faults", { method: "PUT", json: faults });
    if (reply.status < 500 || attempt >= 30) return reply;
    log(`PUT /api/admin/faults answered ${reply.status}; trying again`);
    await sleep(Math.min(15_000, 1_000 * 2 ** attempt));
  }
}

/** Sets the psp spec, plus the dependency faults while the gateway accepts them. */
async function setFaults(admin: Client, psp: Record<string, unknown> | null, withDependencies: boolean) {
  const wanted: Record<string, unknown> = { psp: psp ?? {} };
  if (dependencyFaults) Object.assign(wanted, withDependencies ? DEPENDENCY_FAULTS : { catalog: {}, payments: {} });
  let reply = await putFaults(admin, wanted);
  if (reply.status === 400 && dependencyFaults) {
    dependencyFaults = false;
    log(
      "WARNING: the gateway refuses the catalog/payments fault targets (400): continuing with provider faults only " +
        `(${JSON.stringify(reply.body.detail ?? reply.body.errors ?? "").slice(0, 200)})`,
    );
    delete wanted.catalog;
    delete wanted.payments;
    reply = await putFaults(admin, wanted);
  }
  if (reply.status !== 200) throw new Error(`PUT /api/admin/faults: ${reply.status} ${JSON.stringify(reply.body)}`);
  currentFaults = wanted;
}

// ---------------------------------------------------------------------------------------------
// The run's own world: products, users, orders

interface ProductInfo {
  id: string;
  priceCents: number;
  initial: number;
}

interface Placed {
  key: string;
  user: Client;
  items: { productId: string; quantity: number }[];
  totalCents: number;
  orderIds: Set<string>;
  submissions: number;
  gaveUp: boolean;
}

const products: ProductInfo[] = [];
const users: Client[] = [];
const admins: Client[] = [];
const placed: Placed[] = [];
const counters = { placed: 0, duplicates: 0, cancels: 0, cancelRefused: 0, ships: 0, shipRefused: 0, gaveUp: 0 };
const adminClient = () => pick(admins);

async function register(email: string, phone?: string): Promise<Client> {
  const client = new Client(email, PASSWORD);
  const reply = await http(`${BASE}/api/auth/register`, {
    headers: { "cf-connecting-ip": client.ip },
    json: { email, password: PASSWORD, name: "Chaos Monkey", ...(phone ? { phone } : {}) },
  });
  if (reply.status !== 201) throw new Error(`register ${email}: ${reply.status} ${JSON.stringify(reply.body)}`);
  client.id = String(reply.body.id);
  await client.login();
  return client;
}

async function setup(): Promise<void> {
  const admin = new Client(ADMIN.email, ADMIN.password);
  await admin.login();
  admins.push(admin);
  // Admin reads are many (events per order): spread them over a few admins, as over users.
  const ops = await Promise.all(
    Array.from({ length: Math.max(0, config.admins - 1) }, (_, i) => register(`chaos-${RUN}-ops${i}@example.com`)),
  );
  for (const op of ops) {
    const reply = await admin.call(`/api/users/${op.id}/role`, { method: "PUT", json: { role: "admin" } });
    if (reply.status !== 200) throw new Error(`promote ${op.email}: ${reply.status} ${JSON.stringify(reply.body)}`);
    await op.login(); // the role is in the token
    admins.push(op);
  }
  for (let i = 0; i < config.products; i++) {
    const priceCents = 100 + Math.floor(Math.random() * 4900);
    const reply = await admin.call("/api/products", {
      json: { name: `chaos ${RUN} #${i}`, priceCents, currency: "EUR", stock: config.stock },
    });
    if (reply.status !== 201) throw new Error(`create product: ${reply.status} ${JSON.stringify(reply.body)}`);
    products.push({ id: String(reply.body.id), priceCents, initial: config.stock });
  }
  log(`created ${products.length} products with ${config.stock} in stock each`);
  const emails = Array.from({ length: config.users }, (_, i) => `chaos-${RUN}-u${i}@example.com`);
  // One in five gives a phone, for the welcome SMS (at most once).
  users.push(
    ...(await Promise.all(
      emails.map((email, i) =>
        register(email, i % 5 === 0 ? `+1415555${String(i % 10_000).padStart(4, "0")}` : undefined),
      ),
    )),
  );
  log(`registered ${users.length} users and ${admins.length} admins`);
}

/** Submits (or resubmits) an order with its key until the system answers with an order. */
async function submit(order: Placed): Promise<string | null> {
  for (let attempt = 0; attempt < 8; attempt++) {
    order.submissions++;
    const reply = await order.user.call("/api/orders", {
      json: { items: order.items },
      headers: { "idempotency-key": `"${order.key}"` },
    });
    if ((reply.status === 201 || reply.status === 202 || reply.status === 200) && reply.body.id) {
      order.orderIds.add(String(reply.body.id));
      return String(reply.body.id);
    }
    if (reply.status === 409 || reply.status >= 500) {
      await sleep(500 * 2 ** Math.min(attempt, 4)); // in flight elsewhere, or a failure: same key again
      continue;
    }
    throw new Error(`POST /api/orders: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  }
  return null;
}

async function orderView(order: Placed, id: string) {
  const reply = await order.user.call(`/api/orders/${id}`);
  return reply.status === 200 ? (reply.body as { status: string; saga: { state: string } }) : null;
}

/** Waits (a bounded while) until the order is confirmed with its saga completed, or has ended. */
async function untilConfirmed(order: Placed, id: string, forMs: number): Promise<boolean> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    const view = await orderView(order, id);
    if (view?.status === "confirmed" && view.saga.state === "completed") return true;
    if (view && view.status !== "pending" && view.status !== "confirmed") return false;
    await sleep(2_000 + Math.random() * 2_000);
  }
  return false;
}

const followUps: Promise<void>[] = [];

async function cancelLater(order: Placed, id: string): Promise<void> {
  if (chance(0.5))
    await sleep(Math.random() * 1_500); // likely still pending
  else if (!(await untilConfirmed(order, id, 60_000))) await sleep(Math.random() * 5_000);
  const reply = await order.user.call(`/api/orders/${id}/cancel`, { json: {} });
  if (reply.status === 200 || reply.status === 202) counters.cancels++;
  else counters.cancelRefused++; // 409: already shipped or cancelled; 5xx: the customer gives up
}

async function shipLater(order: Placed, id: string): Promise<void> {
  // an order placed in the outage is confirmed only after it (and after a restart)
  if (!(await untilConfirmed(order, id, config.outageMs + 120_000))) return;
  const reply = await adminClient().call(`/api/orders/${id}/ship`, { json: {} });
  if (reply.status === 200) counters.ships++;
  else counters.shipRefused++; // 409: cancelled meanwhile
}

async function placeOne(index: number): Promise<void> {
  const lines = 1 + Math.floor(Math.random() * Math.min(3, products.length));
  const chosen = [...products].sort(() => Math.random() - 0.5).slice(0, lines);
  const items = chosen.map((p) => ({ productId: p.id, quantity: 1 + Math.floor(Math.random() * 3) }));
  const order: Placed = {
    key: `chaos-${RUN}-${index}-${randomUUID()}`,
    user: users[index % users.length] as Client,
    items,
    totalCents: chosen.reduce((sum, p, i) => sum + p.priceCents * (items[i]?.quantity ?? 0), 0),
    orderIds: new Set(),
    submissions: 0,
    gaveUp: false,
  };
  placed.push(order);
  const duplicate = chance(config.duplicateRate);
  const ids = await Promise.all(
    duplicate ? [submit(order), sleep(Math.random() * 200).then(() => submit(order))] : [submit(order)],
  );
  const id = ids.find((x) => x !== null);
  if (!id) {
    order.gaveUp = true;
    counters.gaveUp++;
    return;
  }
  counters.placed++;
  if (duplicate) {
    counters.duplicates++;
    // and once more later, as a client retrying after a lost answer
    followUps.push(sleep(2_000 + Math.random() * 10_000).then(() => submit(order).then(() => undefined)));
  }
  if (chance(config.cancelRate)) followUps.push(cancelLater(order, id));
  else if (chance(config.shipRate)) followUps.push(shipLater(order, id));
}

// ---------------------------------------------------------------------------------------------
// The attack

let ownSystem = false;
let restartNote = "";

async function attack(): Promise<void> {
  const admin = admins[0] as Client;
  phase = "flaky";
  await setFaults(admin, FLAKY_PSP, true);
  log(`faults: flaky provider${dependencyFaults ? " + ambiguous catalog/payments" : ""}`);

  let next = 0;
  const half = Math.floor(config.orders / 2);
  let outageStarted: () => void = () => undefined;
  const outageStart = new Promise<void>((resolve) => {
    outageStarted = resolve;
  });
  const placer = async () => {
    while (next < config.orders) {
      await placeOne(next++);
      if (counters.placed + counters.gaveUp >= half) outageStarted(); // the outage starts halfway
    }
  };
  const placing = Promise.all(Array.from({ length: config.concurrency }, placer));

  await Promise.race([outageStart, placing]);
  phase = "outage";
  await setFaults(admin, OUTAGE_PSP, true);
  log(`faults: TOTAL provider outage for ${config.outageMs / 1000}s (${counters.placed} orders placed so far)`);
  const outageEnd = Date.now() + config.outageMs;
  await sleep(config.outageMs / 2);
  if (ownSystem && config.restart) {
    phase = "restart";
    log("restarting the whole system with sagas in flight");
    let up: () => void = () => undefined;
    systemDown = new Promise<void>((resolve) => {
      up = resolve;
    });
    const t0 = Date.now();
    await stopSystem();
    await startSystem();
    systemDown = null;
    up();
    restartNote = `restarted in ${((Date.now() - t0) / 1000).toFixed(0)}s`;
    log(`system back (${restartNote}); faults set again`);
    await putFaults(admin, currentFaults);
    phase = "outage";
  } else {
    restartNote = ownSystem ? "skipped (--no-restart)" : "skipped: chaos did not start the system";
    log(`restart ${restartNote}`);
  }
  await sleep(Math.max(0, outageEnd - Date.now()));

  phase = "flaky-after";
  await setFaults(admin, FLAKY_PSP, true);
  log("faults: outage over, flaky again");
  await Promise.all([placing, sleep(config.flakyAfterMs)]);

  phase = "cleared";
  await setFaults(admin, null, false);
  log("faults: cleared");
  await Promise.all(followUps);
}

// ---------------------------------------------------------------------------------------------
// Settling and checking

interface OrderView {
  id: string;
  userId: string;
  status: string;
  reason?: string;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  saga: { state: string };
}

const atRest = (o: OrderView) =>
  ((o.status === "confirmed" || o.status === "shipped") && o.saga.state === "completed") ||
  (o.status === "cancelled" && o.saga.state === "cancelled");

async function listOrders(): Promise<Map<string, OrderView>> {
  const all = new Map<string, OrderView>();
  const lists = await Promise.all(users.map((u) => u.all<OrderView>("/api/orders")));
  for (const list of lists) for (const o of list) all.set(o.id, o);
  return all;
}

async function settle(): Promise<Map<string, OrderView>> {
  phase = "settling";
  const until = Date.now() + config.settleTimeoutMs;
  for (;;) {
    const orders = await listOrders();
    const counts = new Map<string, number>();
    for (const o of orders.values()) {
      const key = `${o.status}${o.reason ? `(${o.reason})` : ""}/${o.saga.state}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const resting = [...orders.values()].filter(atRest).length;
    log(`settling: ${resting}/${orders.size} at rest; ${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}`);
    const failed = [...orders.values()].filter((o) => o.saga.state === "compensation_failed").length;
    if (resting === orders.size || Date.now() > until) return orders;
    if (failed > 0 && failed + resting === orders.size) return orders; // nothing more will move by itself
    await sleep(5_000);
  }
}

interface Envelope {
  id: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

interface Authorization {
  status: string;
  amountCents: number;
  currency: string;
  history: { action: string }[];
}

interface Notification {
  channel: string;
  template: string;
  orderId?: string;
}

/** What is wrong with an order's story in the event log, given a count of its events by type. */
function storyProblems(o: OrderView, count: (type: string) => number): string[] {
  const problems: string[] = [];
  if (count("order.created") !== 1) problems.push(`order.created x${count("order.created")}`);
  const once = [
    "order.confirmed",
    "order.cancelled",
    "order.shipped",
    "stock.reserved",
    "stock.committed",
    "stock.released",
    "payment.authorized",
    "payment.captured",
    "payment.voided",
    "payment.refunded",
  ];
  for (const type of once) if (count(type) > 1) problems.push(`${type} x${count(type)}`);
  const confirmed = count("order.confirmed") === 1;
  const cancelled = count("order.cancelled") === 1;
  const shipped = count("order.shipped") === 1;
  const consistent =
    o.status === "confirmed"
      ? confirmed && !cancelled && !shipped
      : o.status === "shipped"
        ? confirmed && shipped && !cancelled
        : o.status === "cancelled"
          ? cancelled && !shipped
          : !cancelled && !shipped;
  if (!consistent) problems.push(`status ${o.status} with these order events`);
  return problems;
}

type Row = { name: string; checked: number; violations: string[] };

async function check(orders: Map<string, OrderView>): Promise<Row[]> {
  phase = "checking";
  const rows: Row[] = [];
  const row = (name: string) => {
    const r: Row = { name, checked: 0, violations: [] };
    rows.push(r);
    return r;
  };
  const kept = (o: OrderView) => o.status === "confirmed" || o.status === "shipped";

  const rest = row("every order at rest (confirmed/shipped+completed or cancelled+cancelled)");
  for (const o of orders.values()) {
    rest.checked++;
    if (!atRest(o)) rest.violations.push(`${o.id}: ${o.status}/${o.saga.state}`);
  }

  const failedRow = row("no saga in compensation_failed");
  const failed = await adminClient().all<{ orderId: string }>("/api/admin/sagas?state=compensation_failed");
  failedRow.checked = orders.size;
  for (const f of failed) if (orders.has(f.orderId)) failedRow.violations.push(f.orderId);

  const keys = row("one order per Idempotency-Key");
  const known = new Set<string>();
  for (const p of placed) {
    keys.checked++;
    if (p.orderIds.size > 1) keys.violations.push(`${p.key}: ${[...p.orderIds].join(", ")}`);
    for (const id of p.orderIds) known.add(id);
  }
  const unknown = [...orders.keys()].filter((id) => !known.has(id));
  if (unknown.length > counters.gaveUp) {
    keys.violations.push(`${unknown.length} orders no submission was answered with (${counters.gaveUp} keys gave up)`);
  }

  const stock = row("stock conserved per product (available+reserved+sold = initial; none negative)");
  const restReserved = row("at rest nothing reserved, sold = units of kept orders");
  for (const p of products) {
    stock.checked++;
    restReserved.checked++;
    const reply = await adminClient().call(`/api/products/${p.id}`);
    const { available, reserved, sold } = reply.body as { available: number; reserved: number; sold: number };
    if (available + reserved + sold !== p.initial || available < 0 || reserved < 0 || sold < 0) {
      stock.violations.push(`${p.id}: available ${available} + reserved ${reserved} + sold ${sold} != ${p.initial}`);
    }
    const keptUnits = [...orders.values()]
      .filter(kept)
      .flatMap((o) => o.items)
      .filter((line) => line.productId === p.id)
      .reduce((sum, line) => sum + line.quantity, 0);
    if (reserved !== 0 || sold !== keptUnits) {
      restReserved.violations.push(`${p.id}: reserved ${reserved}, sold ${sold}, kept orders hold ${keptUnits}`);
    }
  }

  const money = row("provider: one capture of the right amount per kept order, net zero per cancelled");
  const agree = row("orders, payments D1 (its events) and provider agree");
  const story = row("event log: each order's story once, consistent with its status");
  const ids = row("event log: no duplicate event ids");
  const orderList = [...orders.values()];
  const expectedMail = new Map<string, Set<string>>(); // user id -> "orderId type"
  await Promise.all(
    orderList.map(async (o) => {
      money.checked++;
      agree.checked++;
      story.checked++;
      ids.checked++;
      const auths = (await http(`${PSP}/admin/authorizations?reference=${o.id}`)).body.items as Authorization[];
      const captures = auths.flatMap((a) => a.history).filter((h) => h.action === "capture").length;
      const refunds = auths.flatMap((a) => a.history).filter((h) => h.action === "refund").length;
      if (kept(o)) {
        const a = auths[0];
        if (auths.length !== 1 || a?.status !== "captured" || captures !== 1 || a.amountCents !== o.totalCents) {
          money.violations.push(
            `${o.id} (${o.status}): ${JSON.stringify(auths.map((x) => [x.status, x.amountCents]))}, total ${o.totalCents}`,
          );
        }
      } else if (auths.some((a) => a.status === "authorized" || a.status === "captured") || captures !== refunds) {
        money.violations.push(`${o.id} (cancelled): ${JSON.stringify(auths.map((x) => x.status))}`);
      }

      // The outbox relays within seconds: an incomplete story is read again for a while.
      let events: Envelope[] = [];
      let problems: string[] = [];
      const count = (type: string) => events.filter((e) => e.type === type).length;
      // Each order gets its own patience from its first read: on a loaded machine the event
      // pipeline (outbox relay, queue, shop-events) may trail the orders by minutes.
      const storyDeadline = Date.now() + config.storyTimeoutMs;
      do {
        if (problems.length) await sleep(5_000);
        events = await adminClient().all<Envelope>(`/api/admin/events?subject=${o.id}`);
        problems = storyProblems(o, count);
      } while (problems.length && Date.now() < storyDeadline);
      if (new Set(events.map((e) => e.id)).size !== events.length) ids.violations.push(o.id);
      if (problems.length)
        story.violations.push(`${o.id}: ${problems.join("; ")} (${events.map((e) => e.type).join(",")})`);

      const netCaptured = count("payment.captured") - count("payment.refunded");
      const hold = count("payment.authorized") - count("payment.voided") - count("payment.captured");
      if (kept(o) ? netCaptured !== 1 || captures !== 1 : netCaptured !== 0 || hold > 0) {
        agree.violations.push(
          `${o.id} (${o.status}): payments events ${
            events
              .filter((e) => e.type.startsWith("payment."))
              .map((e) => e.type)
              .join(",") || "none"
          }, provider captures ${captures}`,
        );
      }
      const mail = expectedMail.get(o.userId) ?? new Set<string>();
      for (const type of ["order.confirmed", "order.cancelled", "order.shipped"]) {
        if (count(type) > 0) mail.add(`${o.id} ${type}`);
      }
      expectedMail.set(o.userId, mail);
    }),
  );

  // Notifications, after replaying the whole run's events to them: duplicates must not appear.
  const from = new Date(started - 60_000).toISOString();
  const replay = await adminClient().call("/api/admin/events/replay", {
    json: { from, subscriber: "notifications" },
  });
  log(`replayed ${replay.body.replayed ?? `? (${replay.status})`} events to notifications`);
  const mails = row("notifications: one email per order event (after the replay), one welcome, SMS at most once");
  const deadline = Date.now() + config.storyTimeoutMs;
  for (;;) {
    mails.violations = [];
    mails.checked = 0;
    await Promise.all(
      users.map(async (u) => {
        const items = await u.all<Notification>("/api/notifications");
        const wanted = expectedMail.get(u.id) ?? new Set<string>();
        const seen = new Map<string, number>();
        for (const n of items) {
          const key =
            n.template === "user.created" ? `${n.channel} welcome` : `${n.channel} ${n.orderId} ${n.template}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        mails.checked += wanted.size + 1;
        for (const [key, n] of seen) if (n > 1) mails.violations.push(`${u.email}: ${key} x${n}`);
        if (!seen.has("email welcome")) mails.violations.push(`${u.email}: no welcome email`);
        for (const w of wanted) if (!seen.has(`email ${w}`)) mails.violations.push(`${u.email}: missing ${w}`);
        for (const key of seen.keys()) {
          const [channel, orderId, template] = key.split(" ");
          if (channel === "email" && template && !wanted.has(`${orderId} ${template}`)) {
            mails.violations.push(`${u.email}: email for ${orderId} ${template} without its event`);
          }
        }
      }),
    );
    const onlyMissing = mails.violations.every((v) => v.includes(": missing ") || v.includes("no welcome"));
    if (mails.violations.length === 0 || !onlyMissing || Date.now() > deadline) break;
    log(`notifications: ${mails.violations.length} still missing, waiting`);
    await sleep(5_000);
  }
  return rows;
}

function printTable(rows: Row[]): number {
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n${"invariant".padEnd(width)}  checked  violations`);
  console.log(`${"-".repeat(width)}  -------  ----------`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${String(r.checked).padStart(7)}  ${String(r.violations.length).padStart(10)}`,
    );
  }
  let total = 0;
  for (const r of rows) {
    total += r.violations.length;
    if (r.violations.length === 0) continue;
    console.log(`\n${r.name}: ${r.violations.length} violation(s), e.g.`);
    for (const v of r.violations.slice(0, 10)) console.log(`  - ${v}`);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Main

const progress = setInterval(() => {
  log(
    `${phase}: placed ${counters.placed}/${config.orders} (duplicated ${counters.duplicates}, gave up ${counters.gaveUp}), ` +
      `cancels ${counters.cancels} (+${counters.cancelRefused} refused), ships ${counters.ships}; ` +
      `requests ${stats.requests}, 5xx ${stats.serverErrors}, 429 ${stats.throttled}, connection errors ${stats.connectionErrors}`,
  );
}, 10_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // the system chaos started runs in its own process group: stop it too
    if (devProcess?.pid) process.kill(-devProcess.pid, "SIGTERM");
    process.exit(130);
  });
}

let exitCode = 1;
try {
  log(`configuration: ${JSON.stringify(config)}`);
  if (await healthy()) {
    log(`using the system already running on ${BASE} (simulator on ${PSP})`);
    if (
      config.sagaDeadlineMs ||
      config.compensationBudgetMs ||
      config.compensationBackoffCapMs ||
      config.breakerOpenMs
    ) {
      log("WARNING: saga settings apply only to a system chaos starts itself; the running one keeps its own");
    }
  } else {
    log(`nothing answers on ${BASE}: starting npm run dev (simulator on ${PSP})`);
    await startSystem();
    ownSystem = true;
    log("system ready");
  }
  const status = await fetch(`${PSP}/admin/status`).catch(() => null);
  if (!status?.ok) throw new Error(`the provider simulator's admin API does not answer on ${PSP} (PSP_PORT?)`);
  await setup();
  await attack();
  const orders = await settle();
  const rows = await check(orders);
  rows.push({
    name: "whole-system restart with sagas in flight",
    checked: ownSystem && config.restart ? 1 : 0,
    violations: [],
  });
  const violations = printTable(rows);
  console.log(
    `\n${orders.size} orders (${[...orders.values()].filter((o) => o.status === "confirmed" || o.status === "shipped").length} kept), ` +
      `${counters.duplicates} duplicated, ${counters.cancels} cancelled by customers, ${counters.ships} shipped; ` +
      `restart: ${restartNote}; dependency faults: ${dependencyFaults ? "on" : "refused by the gateway (psp only)"}; ` +
      `duration ${elapsed()}`,
  );
  console.log(violations === 0 ? "chaos: no violation" : `chaos: ${violations} violation(s)`);
  exitCode = violations === 0 ? 0 : 1;
} catch (error) {
  console.error(`chaos failed: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  clearInterval(progress);
  if (ownSystem) {
    log("stopping the system it started");
    await stopSystem();
  }
}
process.exit(exitCode);
