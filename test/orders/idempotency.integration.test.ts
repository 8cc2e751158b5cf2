import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { requestFingerprint } from "../../workers/orders/src/idempotency";
import {
  call,
  createProduct,
  customer,
  eventually,
  expectProblem,
  freshKey,
  type Identity,
  insertPendingOrder,
  ledgerOf,
  type OrderBody,
  ordersOfUser,
  paymentOf,
  postOrder,
  rowCounts,
  setFaults,
  simAuthorization,
  stockOf,
} from "./helpers";

/** The Idempotency-Key header of POST /api/orders (SPEC.md section 4). */

function postWithKey(as: Identity, items: unknown, key: string | null, extraKey?: string): Promise<Response> {
  const headers = new Headers();
  if (key !== null) headers.set("idempotency-key", key);
  if (extraKey !== undefined) headers.append("idempotency-key", extraKey);
  return call("/api/orders", { as, body: { items }, headers });
}

async function storedResponse(userId: string, key: string) {
  return env.DB.prepare("SELECT response_status, response_body FROM idempotency_keys WHERE user_id = ? AND key = ?")
    .bind(userId, key)
    .first<{ response_status: number | null; response_body: string | null }>();
}

describe("Idempotency-Key: the header", () => {
  it("missing, empty, malformed or repeated: 400 and nothing written", async () => {
    const product = await createProduct();
    const items = [{ productId: product.id, quantity: 1 }];
    const buyer = customer();
    const before = await rowCounts();
    const bad: [string | null, string?][] = [
      [null],
      [""],
      ["   "],
      ['""'],
      ['"unterminated'],
      ['"a" "b"'],
      ["x".repeat(256)],
      [`"${"x".repeat(256)}"`],
      ["a b"],
      ["a\tb"],
      ["a, b"],
      ["same", "same"],
    ];
    for (const [key, extra] of bad) {
      const problem = await expectProblem(await postWithKey(buyer, items, key, extra), 400, "bad_request");
      expect(problem.detail, `key ${JSON.stringify([key, extra])}`).toMatch(/Idempotency-Key/);
    }
    expect(await rowCounts()).toEqual(before);
    expect(await stockOf(product.id)).toEqual({ available: 10, reserved: 0, sold: 0, stocked: 10 });
  });

  it("accepts a bare token and a quoted string of up to 255 characters; quoting does not change the key", async () => {
    const product = await createProduct();
    const items = [{ productId: product.id, quantity: 1 }];
    const buyer = customer();
    const long = "k".repeat(255);
    const bare = await postWithKey(buyer, items, long);
    expect(bare.status, await bare.clone().text()).toBe(201);
    const first = (await bare.json()) as OrderBody;

    // The same key, quoted: the same key, so the same order is replayed.
    const quoted = await postWithKey(buyer, items, `"${long}"`);
    expect(quoted.status).toBe(201);
    expect(quoted.headers.get("idempotent-replayed")).toBe("true");
    expect(((await quoted.json()) as OrderBody).id).toBe(first.id);

    // A quoted key may hold a space and an escaped quote.
    const spaced = await postWithKey(buyer, items, '"with space \\" and quote"');
    expect(spaced.status, await spaced.clone().text()).toBe(201);
    expect(((await spaced.json()) as OrderBody).id).not.toBe(first.id);
    const { results } = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE user_id = ? ORDER BY key")
      .bind(buyer.id)
      .all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual([long, 'with space " and quote']);
  });
});

describe("Idempotency-Key: replays", () => {
  it("the same key and body replay the stored response: one order, one payment", async () => {
    const product = await createProduct({ stock: 5 });
    const buyer = customer();
    const key = freshKey();
    const items = [{ productId: product.id, quantity: 2 }];

    const first = await postWithKey(buyer, items, key);
    const firstText = await first.text();
    expect(first.status, firstText).toBe(201);
    const order = JSON.parse(firstText) as OrderBody;
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // The response was stored before it was sent: exactly what the client got.
    expect(await storedResponse(buyer.id, key)).toEqual({ response_status: 201, response_body: firstText });

    for (let i = 0; i < 3; i++) {
      const again = await postWithKey(buyer, items, key);
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.headers.get("location")).toBe(`/api/orders/${order.id}`);
      expect(await again.text()).toBe(firstText);
    }
    // A body with the same meaning (keys in another order) is the same request.
    const reordered = await call("/api/orders", {
      as: buyer,
      rawBody: `{"items":[{"quantity":2,"productId":"${product.id}"}]}`,
      headers: { "idempotency-key": key },
    });
    expect(reordered.status).toBe(201);
    expect(await reordered.text()).toBe(firstText);

    expect(await ordersOfUser(buyer.id)).toEqual([order.id]);
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 2, stocked: 5 });
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured" });
    expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok"]);
    expect((await simAuthorization(order.id))?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);
  });

  it("the same key with another body is a 422, and changes nothing", async () => {
    const product = await createProduct();
    const buyer = customer();
    const key = freshKey();
    const first = await postWithKey(buyer, [{ productId: product.id, quantity: 1 }], key);
    expect(first.status).toBe(201);
    const before = await rowCounts();
    await expectProblem(await postWithKey(buyer, [{ productId: product.id, quantity: 2 }], key), 422, "unprocessable");
    expect(await rowCounts()).toEqual(before);
    expect(await stockOf(product.id)).toEqual({ available: 9, reserved: 0, sold: 1, stocked: 10 });
  });

  it("keys are per user: another user's request with the same key and body is a new order", async () => {
    const product = await createProduct();
    const items = [{ productId: product.id, quantity: 1 }];
    const key = freshKey();
    const alice = customer();
    const bob = customer();
    const forAlice = await postWithKey(alice, items, key);
    const forBob = await postWithKey(bob, items, key);
    expect([forAlice.status, forBob.status]).toEqual([201, 201]);
    expect(forBob.headers.get("idempotent-replayed")).toBeNull();
    const [a, b] = [(await forAlice.json()) as OrderBody, (await forBob.json()) as OrderBody];
    expect(a.id).not.toBe(b.id);
    expect([a.userId, b.userId]).toEqual([alice.id, bob.id]);
    expect(await stockOf(product.id)).toMatchObject({ sold: 2 });
  });

  it("10 concurrent requests with one key: exactly one order; each answer is that order or a 409", async () => {
    const product = await createProduct({ stock: 20 });
    const buyer = customer();
    const key = freshKey();
    const items = [{ productId: product.id, quantity: 1 }];

    const responses = await Promise.all(Array.from({ length: 10 }, () => postWithKey(buyer, items, key)));

    const orders = await ordersOfUser(buyer.id);
    expect(orders).toHaveLength(1);
    const [orderId] = orders;
    const answers = await Promise.all(
      responses.map(async (r) => ({
        status: r.status,
        replayed: r.headers.get("idempotent-replayed"),
        text: await r.text(),
      })),
    );
    const accepted = answers.filter((a) => a.status === 201 || a.status === 202);
    const conflicts = answers.filter((a) => a.status === 409);
    expect(accepted.length + conflicts.length, JSON.stringify(answers.map((a) => a.status))).toBe(10);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const a of accepted) expect((JSON.parse(a.text) as OrderBody).id).toBe(orderId);
    for (const c of conflicts) {
      const problem = JSON.parse(c.text);
      expect(problem).toMatchObject({ status: 409, code: "conflict" });
    }
    // The request that created the order answered without the replay header; the stored response is it.
    const originals = accepted.filter((a) => a.replayed === null);
    expect(originals).toHaveLength(1);
    const stored = await storedResponse(buyer.id, key);
    expect(stored).toEqual({ response_status: 201, response_body: originals[0]?.text });
    for (const a of accepted) expect(a.text).toBe(stored?.response_body);

    // One reservation, one payment.
    expect(await stockOf(product.id)).toEqual({ available: 19, reserved: 0, sold: 1, stocked: 20 });
    expect(await paymentOf(orderId as string)).toMatchObject({ status: "captured", amountCents: 1250 });
    expect(await ledgerOf(orderId as string)).toEqual(["authorize:ok", "capture:ok"]);

    // Once the first request stored its response, a retry replays it.
    const retry = await postWithKey(buyer, items, key);
    expect(retry.status).toBe(201);
    expect(await retry.text()).toBe(stored?.response_body);
  });

  it("a key still being processed answers 409 until its response is stored, then replays it", async () => {
    const product = await createProduct();
    const buyer = customer();
    const key = freshKey();
    const items = [{ productId: product.id, quantity: 1 }];
    // A slow provider (below the payments timeout) keeps the first request busy for a while.
    await setFaults({ psp: { latencyMs: 250 } });
    const first = postOrder(buyer, items, key);
    const claimed = await eventually(
      "the key claimed",
      async () => (await storedResponse(buyer.id, key)) ?? undefined,
      {
        intervalMs: 2,
      },
    );
    expect(claimed.response_status).toBeNull();

    await expectProblem(await postWithKey(buyer, items, key), 409, "conflict");

    const done = await first;
    const text = await done.text();
    expect(done.status, text).toBe(201);
    const replay = await postWithKey(buyer, items, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(text);
    expect(await ordersOfUser(buyer.id)).toHaveLength(1);
  });

  it("a first request that died before storing its response is answered, after a while, with the order as it stands", async () => {
    const product = await createProduct();
    const buyer = customer();
    const key = freshKey();
    const items = [{ productId: product.id, quantity: 1 }];
    const fingerprint = await requestFingerprint("POST", "/api/orders", { items });
    // Claimed a minute ago by a request that stored the order and vanished before answering.
    const orderId = await insertPendingOrder(buyer.id, product, 1, 60_000, { key, fingerprint });

    const response = await postWithKey(buyer, items, key);

    const text = await response.text();
    expect(response.status, text).toBe(202);
    expect(response.headers.get("idempotent-replayed")).toBe("true");
    expect(JSON.parse(text)).toMatchObject({ id: orderId, status: "pending" });
    expect(await storedResponse(buyer.id, key)).toEqual({ response_status: 202, response_body: text });
    expect(await ordersOfUser(buyer.id)).toEqual([orderId]);
    // Another body under that key is still a 422.
    await expectProblem(await postWithKey(buyer, [{ productId: product.id, quantity: 2 }], key), 422, "unprocessable");
  });
});
