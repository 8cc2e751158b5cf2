/**
 * `npm run demo` (with `npm run dev` running in another terminal): walks through edge-shop as a
 * new user would see it, printing what happens at each step: a completed order with its saga, a
 * declined one cancelled with its stock back, a cancellation refunded, and an order that rides
 * out an outage of the payment provider while the circuit breakers open and close again, then what
 * the shopper was told (each notification once), the order's events in the log, and a replay.
 * Every call goes through the typed client (`clients/typescript`), as a program using the API would.
 *
 * Env: BASE_URL (http://localhost:8787), SEED_ADMIN_EMAIL / SEED_ADMIN_PASSWORD as for dev.
 */
import { type Order, type Schemas, ShopClient, unwrap } from "../clients/typescript/src/index.ts";

const baseUrl = process.env.BASE_URL ?? "http://localhost:8787";
// Locally wrangler dev passes the client's CF-Connecting-IP through (on Cloudflare the edge sets
// it): a fresh address per run keeps repeated runs out of each other's anonymous quota.
const clientIp = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
const client = () => new ShopClient({ baseUrl, headers: { "cf-connecting-ip": clientIp } });
const admin = client();
const shopper = client();
const say = (text = "") => console.log(text);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function showOrder(order: Order): void {
  say(
    `  order ${order.id}: ${order.status}${order.reason ? ` (${order.reason})` : ""}, ${order.totalCents} ${order.currency}`,
  );
  say(`  saga ${order.saga.state}:`);
  for (const step of order.saga.steps) {
    say(
      `    ${step.name.padEnd(18)} ${step.status.padEnd(11)} attempts ${step.attempts}${step.error ? `  last error: ${step.error}` : ""}`,
    );
  }
}

async function stock(productId: string): Promise<string> {
  const p = unwrap(await admin.api.GET("/api/products/{id}", { params: { path: { id: productId } } }));
  return `available ${p.available}, reserved ${p.reserved}, sold ${p.sold}`;
}

/** Places an order (a fresh Idempotency-Key each) and says how the gateway answered. */
async function placeOrder(productId: string, quantity: number): Promise<Order> {
  const placed = await shopper.placeOrder([{ productId, quantity }]);
  say(`  POST /api/orders -> ${placed.accepted ? "202 (the saga is still running)" : "201"}`);
  return placed.order;
}

async function setFaults(faults: Schemas["Faults"]): Promise<void> {
  unwrap(await admin.api.PUT("/api/admin/faults", { body: faults }));
}

async function breakers(): Promise<string> {
  const list = unwrap(await admin.api.GET("/api/admin/breakers"));
  return list.items.map((b) => `${b.name}=${b.state}`).join(", ");
}

try {
  const health = unwrap(await admin.api.GET("/health"));
  say(`edge-shop at ${baseUrl}: ${health.status} ${JSON.stringify(health.services)}`);
} catch {
  console.error(`Nothing answers at ${baseUrl}. Start the system first: npm run dev`);
  process.exit(1);
}

await admin.login(
  process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
);
const email = `demo-${Date.now()}@example.com`;
unwrap(
  await shopper.api.POST("/api/auth/register", {
    body: { email, password: "demo-password-123", name: "Demo Shopper", phone: "+14155550123" },
  }),
);
await shopper.login(email, "demo-password-123");
say(`\nA shopper signs up (with a phone number) and logs in: ${email}`);

const product = unwrap(
  await admin.api.POST("/api/products", {
    body: { name: `Demo lamp ${Date.now()}`, priceCents: 3900, currency: "EUR", stock: 10 },
  }),
);
const productId = product.id;
say(`The admin adds a product: ${product.name}, 39.00 EUR, 10 in stock (${productId})`);

say("\n1. A completed order: reserve stock, authorise, confirm (the pivot), commit stock, capture");
const completed = await placeOrder(productId, 2);
showOrder(completed);
say(`  stock: ${await stock(productId)}`);

try {
  say("\n2. A declined card: the provider declines every authorisation");
  await setFaults({ psp: { declineRate: 1 } });
  const declined = await placeOrder(productId, 1);
  say("  (never refused: the saga compensates)");
  showOrder(declined);
  say(`  stock: ${await stock(productId)}  (the reservation was released)`);
  await setFaults({ psp: {} });

  say("\n3. A cancellation after confirmation: the payment is refunded and the stock comes back");
  const toCancel = await placeOrder(productId, 3);
  say(`  placed ${toCancel.id}: ${toCancel.status}; stock: ${await stock(productId)}`);
  const cancelled = await shopper.api.POST("/api/orders/{id}/cancel", { params: { path: { id: toCancel.id } } });
  say(`  POST /api/orders/${toCancel.id}/cancel -> ${cancelled.response.status}`);
  showOrder(unwrap(cancelled));
  say(`  stock: ${await stock(productId)}`);

  say("\n4. An outage: every provider endpoint answers 503");
  await setFaults({ psp: { errorRate: 1 } });
  const during = await placeOrder(productId, 1);
  say("  (the saga keeps retrying with backoff, up to its 2-minute deadline)");
  showOrder(during);
  await sleep(3000);
  say(`  breakers: ${await breakers()}`);
  say("  the provider recovers; following the saga until it comes to rest:");
  await setFaults({ psp: {} });
  const started = Date.now();
  const seen = new Map<string, string>();
  const after = await shopper.followOrder(
    during.id,
    (order) => {
      for (const step of order.saga.steps) {
        const now = `${step.status} (attempt ${step.attempts})`;
        if (seen.get(step.name) !== now) say(`    ${step.name.padEnd(18)} ${now}`);
        seen.set(step.name, now);
      }
    },
    { intervalMs: 2000, timeoutMs: 150_000 },
  );
  say(`  after ${Math.round((Date.now() - started) / 1000)} s (a breaker probes 60 s after it opened):`);
  showOrder(after);
  say(`  breakers: ${await breakers()}`);
  say(`  stock: ${await stock(productId)}`);
} finally {
  await setFaults({ psp: {} });
}
say("\n5. The admin ships the first order");
const shipped = unwrap(
  await admin.api.POST("/api/orders/{id}/ship", { params: { path: { id: completed.id } }, body: {} }),
);
say(`  POST /api/orders/${completed.id}/ship -> ${shipped.status}, tracking ${shipped.trackingNumber}`);

const notifications = async () =>
  unwrap(await shopper.api.GET("/api/notifications", { params: { query: { limit: 100 } } })).items;
say("\n6. What the shopper was told (GET /api/notifications), each message once:");
await sleep(4000); // events travel through two queues
const told = await notifications();
for (const n of [...told].reverse()) {
  say(`  ${n.channel.padEnd(5)} ${n.template.padEnd(16)} to ${n.to}: ${n.subject ?? "(sms)"}`);
}

say(`\n7. The first order's story in the event log (GET /api/admin/events?subject=${completed.id}):`);
const story = unwrap(
  await admin.api.GET("/api/admin/events", { params: { query: { subject: completed.id, limit: 100 } } }),
).items;
for (const e of [...story].reverse()) {
  say(`  ${e.source.padEnd(14)} #${e.sequence} ${e.type.padEnd(22)} trace ${e.traceparent?.split("-")[1] ?? "-"}`);
}

say("\n8. A replay of the last hour to the notifications subscriber changes nothing already done:");
const replay = unwrap(
  await admin.api.POST("/api/admin/events/replay", {
    body: { from: new Date(Date.now() - 3_600_000).toISOString(), subscriber: "notifications" },
  }),
);
await sleep(4000);
say(`  POST /api/admin/events/replay -> ${JSON.stringify(replay)}`);
say(`  notifications before: ${told.length}, after: ${(await notifications()).length}`);

say("\nEvery saga and its history: GET /api/admin/sagas; dead letters: GET /api/admin/dead-letters. The API: /docs/");
