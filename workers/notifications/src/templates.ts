import type { DomainEvent, Envelope, EventData } from "#shared/contracts/events";

/**
 * What each event tells a user, as plain text: pure, no I/O. The template of a message is the
 * type of the event it was made for.
 */

/** A user as the contact directory knows them. */
export interface Contact {
  userId: string;
  email: string;
  name: string;
  phone: string | null;
}

export type Channel = "email" | "sms";

export interface Message {
  channel: Channel;
  template: NotifyingType;
  /** An email address or a phone number. */
  to: string;
  /** Email only. */
  subject: string | null;
  body: string;
}

/** The events that produce messages. */
export const NOTIFYING_TYPES = ["user.created", "order.confirmed", "order.cancelled", "order.shipped"] as const;
export type NotifyingType = (typeof NOTIFYING_TYPES)[number];

type CancelReason = EventData<"order.cancelled">["reason"];

const REASONS: Record<CancelReason, string> = {
  out_of_stock: "some of the items were out of stock",
  payment_declined: "the payment was declined",
  payment_unavailable: "we could not reach the payment provider in time",
  cancelled_by_customer: "you cancelled it",
  cancelled_by_admin: "our staff cancelled it",
};

export function reasonInWords(reason: CancelReason): string {
  return REASONS[reason];
}

/** Integer minor units in the currency's own decimals, e.g. 1999 EUR -> "€19.99". */
export function formatMoney(cents: number, currency: string): string {
  const format = new Intl.NumberFormat("en", { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(cents / 10 ** digits);
}

const email = (template: NotifyingType, contact: Contact, subject: string, lines: string[]): Message => ({
  channel: "email",
  template,
  to: contact.email,
  subject,
  body: [`Hello ${contact.name},`, "", ...lines, "", "edge-shop"].join("\n"),
});

/** The messages an event sends to its user; none for events that only update the directory. */
export function messagesFor(event: DomainEvent, contact: Contact): Message[] {
  switch (event.type) {
    case "user.created":
      return welcome(contact);
    case "order.confirmed":
      return [orderConfirmed(event, contact)];
    case "order.cancelled":
      return [orderCancelled(event, contact)];
    case "order.shipped":
      return [orderShipped(event, contact)];
    default:
      return [];
  }
}

function welcome(contact: Contact): Message[] {
  const messages = [
    email("user.created", contact, "Welcome to edge-shop", [
      "Your account is ready. We will write to you here about your orders.",
    ]),
  ];
  if (contact.phone) {
    messages.push({
      channel: "sms",
      template: "user.created",
      to: contact.phone,
      subject: null,
      body: `Welcome to edge-shop, ${contact.name}! We will text you about your orders here.`,
    });
  }
  return messages;
}

function orderConfirmed(event: Envelope<"order.confirmed">, contact: Contact): Message {
  const { orderId, totalCents, currency } = event.data;
  return email("order.confirmed", contact, `Order ${orderId} confirmed`, [
    `Your order ${orderId} is confirmed. Total: ${formatMoney(totalCents, currency)}.`,
    "We will let you know when it ships.",
  ]);
}

function orderCancelled(event: Envelope<"order.cancelled">, contact: Contact): Message {
  const { orderId, reason } = event.data;
  return email("order.cancelled", contact, `Order ${orderId} cancelled`, [
    `Your order ${orderId} was cancelled because ${reasonInWords(reason)}.`,
    "If you were charged for it, the amount is refunded in full.",
  ]);
}

function orderShipped(event: Envelope<"order.shipped">, contact: Contact): Message {
  const { orderId, trackingNumber } = event.data;
  return email("order.shipped", contact, `Order ${orderId} shipped`, [
    `Your order ${orderId} is on its way. Tracking number: ${trackingNumber}.`,
  ]);
}
