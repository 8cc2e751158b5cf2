import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_ORDER_TOTAL_CENTS } from "#shared/contracts/common";
import {
  admin,
  call,
  createProduct,
  customer,
  expectProblem,
  freshKey,
  getOrder,
  ledgerOf,
  paymentOf,
  placeOrder,
  postOrder,
  rowCounts,
  simAuthorization,
  stepOf,
  stepTrail,
  stockOf,
} from "./helpers";

/** POST /api/orders (SPEC.md sections 2 and 4): pricing, validation, the saga's happy path, out of stock. */

const FORWARD = ["reserve_stock", "authorize_payment", "confirm_order", "commit_stock", "capture_payment"];

describe("POST /api/orders: the happy path", () => {
  it("answers 201 with the confirmed order, its completed saga and a Location; stock is sold, payment captured once", async () => {
    const mug = await createProduct({ priceCents: 1250, stock: 10 });
    const shirt = await createProduct({ priceCents: 2999, stock: 3 });
    const buyer = customer();
    const before = Date.now();

    const response = await postOrder(buyer, [
      { productId: mug.id, quantity: 2 },
      { productId: shirt.id, quantity: 1 },
    ]);

    const text = await response.text();
    expect(response.status, text).toBe(201);
    const order = JSON.parse(text);
    expect(order.id).toMatch(/^ord_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(response.headers.get("location")).toBe(`/api/orders/${order.id}`);
    expect(response.headers.get("idempotent-replayed")).toBeNull();
    expect(order).toMatchObject({
      userId: buyer.id,
      status: "confirmed",
      items: [
        { productId: mug.id, quantity: 2, unitPriceCents: 1250 },
        { productId: shirt.id, quantity: 1, unitPriceCents: 2999 },
      ],
      totalCents: 2 * 1250 + 2999,
      currency: "EUR",
    });
    expect(order.reason).toBeUndefined();
    expect(Date.parse(order.createdAt)).toBeGreaterThanOrEqual(before - 5);

    // The saga: the five forward steps, each succeeded at its first attempt.
    expect(order.saga.state).toBe("completed");
    expect(stepTrail(order)).toEqual(FORWARD.map((name) => `${name}:succeeded`));
    for (const name of FORWARD) {
      const step = stepOf(order, name);
      expect(step.attempts, name).toBe(1);
      expect(step.error, name).toBeUndefined();
      expect(Date.parse(step.endedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(step.startedAt ?? ""));
      // Calls to catalog and payments go through their breaker; confirm_order is a local write.
      const local = name === "confirm_order";
      expect(step.history, name).toEqual([
        {
          attempt: 1,
          startedAt: step.startedAt,
          endedAt: expect.any(String),
          breaker: local ? null : "closed",
          called: local ? null : true,
          outcome: "succeeded",
        },
      ]);
    }
    // Steps ran in order, each after the previous one ended.
    const steps = order.saga.steps;
    for (let i = 1; i < steps.length; i++) {
      expect(Date.parse(steps[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(steps[i - 1].endedAt));
    }

    // Stock moved to sold; the payment was authorised once and captured once.
    expect(await stockOf(mug.id)).toEqual({ available: 8, reserved: 0, sold: 2, stocked: 10 });
    expect(await stockOf(shirt.id)).toEqual({ available: 2, reserved: 0, sold: 1, stocked: 3 });
    expect(await paymentOf(order.id)).toMatchObject({
      orderId: order.id,
      status: "captured",
      amountCents: 5499,
      currency: "EUR",
    });
    expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok"]);
    const held = await simAuthorization(order.id);
    expect(held).toMatchObject({ status: "captured", amountCents: 5499, currency: "EUR" });
    expect(held?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);

    // GET shows the same order, saga history included.
    expect(await getOrder(order.id, buyer)).toEqual(order);
  });

  it("a product whose price changed is billed at the catalog's price at order time", async () => {
    const product = await createProduct({ priceCents: 500, stock: 5 });
    const seller = { "x-shop-user-id": admin().id, "x-shop-user-role": "admin" };
    const patched = await env.TEST_CATALOG.fetch(
      new Request(`https://catalog/api/products/${product.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", ...seller },
        body: JSON.stringify({ priceCents: 777 }),
      }),
    );
    expect(patched.status, await patched.clone().text()).toBe(200);
    const { status, order } = await placeOrder(customer(), [{ productId: product.id, quantity: 3 }]);
    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "confirmed", totalCents: 2331, items: [{ unitPriceCents: 777 }] });
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured", amountCents: 2331 });
  });
});

describe("POST /api/orders: bad input writes nothing", () => {
  const UNKNOWN = "prd_00000000000000000000000000";

  async function expectNothingWritten(send: () => Promise<Response>, status: number, code: string) {
    const before = await rowCounts();
    const problem = await expectProblem(await send(), status, code);
    expect(await rowCounts()).toEqual(before);
    return problem;
  }

  it("a client-sent price or total is a 400: prices come from the catalog only", async () => {
    const product = await createProduct();
    const buyer = customer();
    const post = (body: unknown) => () =>
      call("/api/orders", { as: buyer, body, headers: { "idempotency-key": freshKey() } });
    const linePrice = await expectNothingWritten(
      post({ items: [{ productId: product.id, quantity: 1, unitPriceCents: 1 }] }),
      400,
      "validation_failed",
    );
    expect(linePrice.errors?.map((e) => e.path)).toContain("items.0.unitPriceCents");
    const total = await expectNothingWritten(
      post({ items: [{ productId: product.id, quantity: 1 }], totalCents: 1, currency: "EUR" }),
      400,
      "validation_failed",
    );
    expect(total.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(["totalCents", "currency"]));
  });

  it("an unknown product is a 422", async () => {
    const known = await createProduct();
    const problem = await expectNothingWritten(
      () =>
        postOrder(customer(), [
          { productId: known.id, quantity: 1 },
          { productId: UNKNOWN, quantity: 1 },
        ]),
      422,
      "unprocessable",
    );
    expect(problem.detail).toContain(UNKNOWN);
  });

  it("a total above MAX_ORDER_TOTAL_CENTS is a 422 that says so; the cap itself is accepted end to end", async () => {
    const dear = await createProduct({ priceCents: MAX_ORDER_TOTAL_CENTS / 2, stock: 10 });
    const problem = await expectNothingWritten(
      () => postOrder(customer(), [{ productId: dear.id, quantity: 3 }]),
      422,
      "unprocessable",
    );
    expect(problem.detail).toContain("100000000");
    expect(problem.detail).toContain(String(3 * (MAX_ORDER_TOTAL_CENTS / 2)));
    expect(await stockOf(dear.id)).toMatchObject({ available: 10, reserved: 0 });

    // Exactly the cap passes the order, event and payment schemas alike.
    const { status, order } = await placeOrder(customer(), [{ productId: dear.id, quantity: 2 }]);
    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "confirmed", totalCents: MAX_ORDER_TOTAL_CENTS });
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured", amountCents: MAX_ORDER_TOTAL_CENTS });
  });

  it("items priced in two currencies are a 422", async () => {
    const euros = await createProduct({ currency: "EUR" });
    const dollars = await createProduct({ currency: "USD" });
    await expectNothingWritten(
      () =>
        postOrder(customer(), [
          { productId: euros.id, quantity: 1 },
          { productId: dollars.id, quantity: 1 },
        ]),
      422,
      "unprocessable",
    );
  });

  it("a product on two lines is a 400", async () => {
    const product = await createProduct();
    await expectNothingWritten(
      () =>
        postOrder(customer(), [
          { productId: product.id, quantity: 1 },
          { productId: product.id, quantity: 2 },
        ]),
      400,
      "validation_failed",
    );
  });

  it("0 lines and 51 lines are 400; 50 lines are accepted", async () => {
    await expectNothingWritten(() => postOrder(customer(), []), 400, "validation_failed");
    const products = await Promise.all(Array.from({ length: 51 }, () => createProduct({ priceCents: 100, stock: 1 })));
    const lines = products.map((p) => ({ productId: p.id, quantity: 1 }));
    await expectNothingWritten(() => postOrder(customer(), lines), 400, "validation_failed");
    const { status, order } = await placeOrder(customer(), lines.slice(0, 50));
    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "confirmed", totalCents: 5000 });
    expect(order.items).toHaveLength(50);
  });

  it("quantity 0 and 101 are 400; 100 is accepted", async () => {
    const product = await createProduct({ priceCents: 10, stock: 100 });
    for (const quantity of [0, 101, 1.5, -1]) {
      const problem = await expectNothingWritten(
        () => postOrder(customer(), [{ productId: product.id, quantity }]),
        400,
        "validation_failed",
      );
      expect(problem.errors?.map((e) => e.path)).toEqual(["items.0.quantity"]);
    }
    const { order } = await placeOrder(customer(), [{ productId: product.id, quantity: 100 }]);
    expect(order).toMatchObject({ status: "confirmed", totalCents: 1000 });
    expect(await stockOf(product.id)).toEqual({ available: 0, reserved: 0, sold: 100, stocked: 100 });
  });

  it("malformed JSON, a non-JSON body, a malformed product id and an unknown field are 4xx", async () => {
    const buyer = customer();
    const headers = { "idempotency-key": freshKey() };
    await expectNothingWritten(
      () => call("/api/orders", { as: buyer, rawBody: '{"items": [', headers }),
      400,
      "bad_request",
    );
    await expectNothingWritten(
      () =>
        call("/api/orders", {
          as: buyer,
          rawBody: "items=1",
          headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        }),
      415,
      "unsupported_media_type",
    );
    await expectNothingWritten(
      () => postOrder(buyer, [{ productId: "prd_nope", quantity: 1 }]),
      400,
      "validation_failed",
    );
    await expectNothingWritten(
      () => call("/api/orders", { as: buyer, body: { items: [], note: "hi" }, headers }),
      400,
      "validation_failed",
    );
  });

  it("without the gateway's identity it is a 401", async () => {
    const product = await createProduct();
    await expectNothingWritten(
      () =>
        call("/api/orders", {
          body: { items: [{ productId: product.id, quantity: 1 }] },
          headers: { "idempotency-key": freshKey() },
        }),
      401,
      "unauthorized",
    );
  });
});

describe("out of stock: never refused", () => {
  it("stock 1, quantity 2: 201 with the order cancelled for out_of_stock; nothing reserved, nothing authorised", async () => {
    const product = await createProduct({ stock: 1 });
    const { status, order } = await placeOrder(customer(), [{ productId: product.id, quantity: 2 }]);

    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
    expect(order.saga.state).toBe("cancelled");
    // Nothing held, so nothing to undo: no void, no release; the order is cancelled with its reason.
    expect(stepTrail(order)).toEqual([
      "reserve_stock:failed",
      "authorize_payment:skipped",
      "confirm_order:skipped",
      "commit_stock:skipped",
      "capture_payment:skipped",
      "cancel_order:succeeded",
    ]);
    const reserve = stepOf(order, "reserve_stock");
    // The customer sees the step's code; the admin sees the detail.
    expect(reserve).toMatchObject({ attempts: 1, error: "out_of_stock" });
    expect(stepOf(await getOrder(order.id), "reserve_stock").error).toMatch(/^out_of_stock: /);
    expect(reserve.history).toEqual([
      expect.objectContaining({ attempt: 1, breaker: "closed", called: true, outcome: "failed" }),
    ]);
    expect(await stockOf(product.id)).toEqual({ available: 1, reserved: 0, sold: 0, stocked: 1 });
    expect(await paymentOf(order.id)).toBeNull();
    expect(await ledgerOf(order.id)).toEqual([]);
    expect(await simAuthorization(order.id)).toBeUndefined();
    expect(await getOrder(order.id, { id: order.userId, role: "customer" })).toEqual(order);
  });

  it("a two-line order short on one line reserves nothing on either", async () => {
    const plenty = await createProduct({ stock: 10 });
    const scarce = await createProduct({ stock: 2 });
    const { status, order } = await placeOrder(customer(), [
      { productId: plenty.id, quantity: 4 },
      { productId: scarce.id, quantity: 3 },
    ]);
    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "cancelled", reason: "out_of_stock", saga: { state: "cancelled" } });
    expect(stepOf(order, "reserve_stock").error).toBe("out_of_stock");
    expect(stepOf(await getOrder(order.id), "reserve_stock").error).toContain(scarce.id);
    expect(await stockOf(plenty.id)).toEqual({ available: 10, reserved: 0, sold: 0, stocked: 10 });
    expect(await stockOf(scarce.id)).toEqual({ available: 2, reserved: 0, sold: 0, stocked: 2 });
    expect(await paymentOf(order.id)).toBeNull();
  });

  it("the last unit goes to one order; the next one is cancelled for out_of_stock", async () => {
    const product = await createProduct({ stock: 1 });
    const first = await placeOrder(customer(), [{ productId: product.id, quantity: 1 }]);
    const second = await placeOrder(customer(), [{ productId: product.id, quantity: 1 }]);
    expect(first.order).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    expect(second.order).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
    expect(await stockOf(product.id)).toEqual({ available: 0, reserved: 0, sold: 1, stocked: 1 });
  });
});
