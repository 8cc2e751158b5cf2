/**
 * `npm run demo` (with `npm run dev` running in another terminal): walks through edge-shop as a
 * new user would see it, printing what happens at each step: a completed order with its saga, a
 * declined one cancelled with its stock back, a cancellation refunded, and an order that rides
 * out an outage of the payment provider while the circuit breakers open and close again, then what
 * the shopper was told (each notification once), the order's events in the log, and a replay.
 *
 * Env: BASE_URL (http://localhost:8787), SEED_ADMIN_EMAIL / SEED_ADMIN_PASSWORD as for dev.
 */
import { ApiClient } from "./api-client.ts";

const api = new ApiClient(process.env.BASE_URL ?? "http://localhost:8787");
const say = (text = "") => console.log(text);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Order {
  id: string;
  status: string;
  reason?: string;
  totalCents: number;
  currency: string;
  saga: { state: string; steps: { name: string; status: string; attempts: number; error?: string }[] };
}

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

async function stock(admin: string, productId: string): Promise<string> {
  const p = (await api.request(`/api/products/${productId}`, { token: admin })).body;
  return `available ${p.available}, reserved ${p.reserved}, sold ${p.sold}`;
}

async function placeOrder(
  token: string,
  productId: string,
  quantity: number,
): Promise<{ status: number; order: Order }> {
  const res = await api.request("/api/orders", {
    token,
    json: { items: [{ productId, quantity }] },
    headers: { "idempotency-key": crypto.randomUUID() },
  });
  if (res.status !== 201 && res.status !== 202) throw new Error(`order: ${res.status} ${JSON.stringify(res.body)}`);
  return { status: res.status, order: res.body as unknown as Order };
}

async function setFaults(admin: string, faults: Record<string, unknown>): Promise<void> {
  const res = await api.request("/api/admin/faults", { method: "PUT", token: admin, json: faults });
  if (res.status !== 200) throw new Error(`faults: ${res.status} ${JSON.stringify(res.body)}`);
}

try {
  const health = await api.request("/health");
  say(`edge-shop at ${api.base}: ${health.body.status} ${JSON.stringify(health.body.services)}`);
} catch {
  console.error(`Nothing answers at ${api.base}. Start the system first: npm run dev`);
  process.exit(1);
}

const admin = await api.login(
  process.env.SEED_ADMIN_EMAIL ?? "admin@example.com",
  process.env.SEED_ADMIN_PASSWORD ?? "admin-dev-password",
);
const email = `demo-${Date.now()}@example.com`;
await api.request("/api/auth/register", {
  json: { email, password: "demo-password-123", name: "Demo Shopper", phone: "+14155550123" },
});
const shopper = await api.login(email, "demo-password-123");
say(`\nA shopper signs up (with a phone number) and logs in: ${email}`);

const created = await api.request("/api/products", {
  token: admin,
  json: { name: `Demo lamp ${Date.now()}`, priceCents: 3900, currency: "EUR", stock: 10 },
});
const productId = String(created.body.id);
say(`The admin adds a product: ${created.body.name}, 39.00 EUR, 10 in stock (${productId})`);

say("\n1. A completed order: reserve stock, authorise, confirm (the pivot), commit stock, capture");
const completed = await placeOrder(shopper, productId, 2);
say(`  POST /api/orders -> ${completed.status}`);
showOrder(completed.order);
say(`  stock: ${await stock(admin, productId)}`);

try {
  say("\n2. A declined card: the provider declines every authorisation");
  await setFaults(admin, { psp: { declineRate: 1 } });
  const declined = await placeOrder(shopper, productId, 1);
  say(`  POST /api/orders -> ${declined.status} (never refused: the saga compensates)`);
  showOrder(declined.order);
  say(`  stock: ${await stock(admin, productId)}  (the reservation was released)`);
  await setFaults(admin, { psp: {} });

  say("\n3. A cancellation after confirmation: the payment is refunded and the stock comes back");
  const toCancel = await placeOrder(shopper, productId, 3);
  say(`  placed ${toCancel.order.id}: ${toCancel.order.status}; stock: ${await stock(admin, productId)}`);
  const cancelled = await api.request(`/api/orders/${toCancel.order.id}/cancel`, { method: "POST", token: shopper });
  say(`  POST /api/orders/${toCancel.order.id}/cancel -> ${cancelled.status}`);
  showOrder(cancelled.body as unknown as Order);
  say(`  stock: ${await stock(admin, productId)}`);

  say("\n4. An outage: every provider endpoint answers 503");
  await setFaults(admin, { psp: { errorRate: 1 } });
  const during = await placeOrder(shopper, productId, 1);
  say(`  POST /api/orders -> ${during.status} (the saga keeps retrying with backoff, up to its 2-minute deadline)`);
  showOrder(during.order);
  await sleep(3000);
  const breakers = (await api.request("/api/admin/breakers", { token: admin })).body.items as {
    name: string;
    state: string;
  }[];
  say(`  breakers: ${breakers.map((b) => `${b.name}=${b.state}`).join(", ")}`);
  say("  the provider recovers");
  await setFaults(admin, { psp: {} });
  const started = Date.now();
  let after = during.order;
  while (
    !["completed", "cancelled", "compensation_failed"].includes(after.saga.state) &&
    Date.now() - started < 150_000
  ) {
    await sleep(2000);
    after = (await api.request(`/api/orders/${during.order.id}`, { token: shopper })).body as unknown as Order;
    process.stdout.write(".");
  }
  say(`\n  after ${Math.round((Date.now() - started) / 1000)} s (a breaker probes 60 s after it opened):`);
  showOrder(after);
  const closed = (await api.request("/api/admin/breakers", { token: admin })).body.items as {
    name: string;
    state: string;
  }[];
  say(`  breakers: ${closed.map((b) => `${b.name}=${b.state}`).join(", ")}`);
  say(`  stock: ${await stock(admin, productId)}`);
} finally {
  await setFaults(admin, { psp: {} });
}
say(`\n5. The admin ships the first order`);
const shipped = await api.request(`/api/orders/${completed.order.id}/ship`, { token: admin, json: {} });
say(`  POST /api/orders/${completed.order.id}/ship -> ${shipped.status}, tracking ${shipped.body.trackingNumber}`);

interface Notification {
  channel: string;
  template: string;
  to: string;
  subject?: string;
  orderId?: string;
}
const notifications = async () =>
  (await api.request("/api/notifications?limit=100", { token: shopper })).body.items as Notification[];
say("\n6. What the shopper was told (GET /api/notifications), each message once:");
await sleep(4000); // events travel through two queues
const told = await notifications();
for (const n of [...told].reverse()) {
  say(`  ${n.channel.padEnd(5)} ${n.template.padEnd(16)} to ${n.to}: ${n.subject ?? "(sms)"}`);
}

say(`\n7. The first order's story in the event log (GET /api/admin/events?subject=${completed.order.id}):`);
const story = (await api.request(`/api/admin/events?subject=${completed.order.id}&limit=100`, { token: admin })).body
  .items as { type: string; source: string; sequence: number; traceparent: string | null }[];
for (const e of [...story].reverse()) {
  say(`  ${e.source.padEnd(14)} #${e.sequence} ${e.type.padEnd(22)} trace ${e.traceparent?.split("-")[1] ?? "-"}`);
}

say("\n8. A replay of the last hour to the notifications subscriber changes nothing already done:");
const replay = await api.request("/api/admin/events/replay", {
  token: admin,
  json: { from: new Date(Date.now() - 3_600_000).toISOString(), subscriber: "notifications" },
});
await sleep(4000);
say(`  POST /api/admin/events/replay -> ${replay.status} ${JSON.stringify(replay.body)}`);
say(`  notifications before: ${told.length}, after: ${(await notifications()).length}`);

say("\nEvery saga and its history: GET /api/admin/sagas; dead letters: GET /api/admin/dead-letters. The API: /docs/");
