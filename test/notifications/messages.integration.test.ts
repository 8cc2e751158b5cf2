import { describe, expect, it } from "vitest";
import type { EventData } from "#shared/contracts/events";
import { newId } from "#shared/ids";
import { formatMoney, reasonInWords } from "../../workers/notifications/src/templates";
import { asMessages, deliver, envelope, newUser, notificationsOfEvent, type TestUser, userCreated } from "./helpers";

/** What each event tells its user, as recorded (and sent) by the consumer. */

type Reason = EventData<"order.cancelled">["reason"];

async function knownUser(options: { phone?: string | null } = {}): Promise<TestUser> {
  const user = newUser(options);
  await deliver(asMessages(userCreated(user)));
  return user;
}

async function onlyEmailOf(event: { id: string }) {
  const rows = await notificationsOfEvent(event.id);
  expect(rows.map((r) => r.channel)).toEqual(["email"]);
  const [mail] = rows;
  if (!mail) throw new Error("no email");
  return mail;
}

describe("messages", () => {
  it("user.created: a welcome email, and a welcome SMS only when the user gave a phone", async () => {
    const withPhone = newUser({ phone: "+14155550188" });
    const welcome = userCreated(withPhone);
    await deliver(asMessages(welcome));
    const rows = await notificationsOfEvent(welcome.id);
    expect(rows.map((r) => [r.channel, r.template])).toEqual([
      ["email", "user.created"],
      ["sms", "user.created"],
    ]);
    const [mail, sms] = rows;
    expect(mail).toMatchObject({ to_address: withPhone.email, order_id: null });
    expect(mail?.subject).toContain("Welcome");
    expect(mail?.body).toContain(withPhone.name);
    expect(sms?.subject).toBeNull();
    expect(sms?.to_address).toBe("+14155550188");
    expect(sms?.body).toContain("Welcome");

    const noPhone = newUser({ phone: null });
    const created = userCreated(noPhone);
    await deliver(asMessages(created));
    const mailOnly = await onlyEmailOf(created);
    expect(mailOnly).toMatchObject({ to_address: noPhone.email, template: "user.created", order_id: null });
    expect(mailOnly.body).toContain(noPhone.name);
  });

  it("order.confirmed names the order and its total", async () => {
    const user = await knownUser();
    const orderId = newId("ord");
    const event = envelope(
      "order.confirmed",
      { orderId, userId: user.userId, totalCents: 123_456, currency: "EUR" },
      { subject: orderId, sequence: 3 },
    );
    await deliver(asMessages(event));
    const mail = await onlyEmailOf(event);
    expect(mail).toMatchObject({ template: "order.confirmed", to_address: user.email, order_id: orderId });
    expect(mail.subject).toContain(orderId);
    expect(mail.body).toContain(orderId);
    expect(mail.body).toContain("€1,234.56");
  });

  it("order.cancelled names the order and says the reason in words", async () => {
    const user = await knownUser();
    const expected: Record<Reason, RegExp> = {
      out_of_stock: /out of stock/,
      payment_declined: /payment was declined/,
      payment_unavailable: /could not reach the payment provider/,
      cancelled_by_customer: /you cancelled it/,
      cancelled_by_admin: /staff cancelled it/,
    };
    for (const [reason, words] of Object.entries(expected) as [Reason, RegExp][]) {
      const orderId = newId("ord");
      const event = envelope(
        "order.cancelled",
        { orderId, userId: user.userId, reason, totalCents: 500, currency: "EUR" },
        { subject: orderId, sequence: 4 },
      );
      await deliver(asMessages(event));
      const mail = await onlyEmailOf(event);
      expect(mail).toMatchObject({ template: "order.cancelled", order_id: orderId });
      expect(mail.subject).toContain(orderId);
      expect(mail.body).toContain(orderId);
      expect(mail.body).toMatch(words);
      expect(mail.body).not.toContain(reason);
      expect(reasonInWords(reason)).toMatch(words);
    }
  });

  it("order.shipped names the order and gives the tracking number", async () => {
    const user = await knownUser({ phone: null });
    const orderId = newId("ord");
    const event = envelope(
      "order.shipped",
      { orderId, userId: user.userId, trackingNumber: "TRK-0042-XY" },
      { subject: orderId, sequence: 5 },
    );
    await deliver(asMessages(event));
    const mail = await onlyEmailOf(event);
    expect(mail).toMatchObject({ template: "order.shipped", order_id: orderId, to_address: user.email });
    expect(mail.subject).toContain(orderId);
    expect(mail.body).toContain(orderId);
    expect(mail.body).toContain("TRK-0042-XY");
  });

  it("money is shown in the currency's own minor units", () => {
    expect(formatMoney(1999, "EUR")).toBe("€19.99");
    expect(formatMoney(500, "JPY")).toBe("¥500");
    expect(formatMoney(1000, "USD")).toBe("$10.00");
  });

  it("events it does not send for are acked and leave no message", async () => {
    const orderId = newId("ord");
    const event = envelope(
      "order.created",
      {
        orderId,
        userId: newId("usr"),
        items: [{ productId: newId("prd"), quantity: 1, unitPriceCents: 100 }],
        totalCents: 100,
        currency: "EUR",
      },
      { subject: orderId },
    );
    const messages = asMessages(event);
    const result = await deliver(messages);
    expect(result.explicitAcks).toEqual([messages[0]?.id]);
    expect(await notificationsOfEvent(event.id)).toEqual([]);
  });
});
