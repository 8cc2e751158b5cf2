import * as z from "zod";
import { idSchema, OrderIdSchema, pageOf } from "./common";

/** A message shop-notifications sent (or is about to send) to a user, as `GET /api/notifications` lists it. */
export const NotificationSchema = z
  .object({
    id: idSchema("ntf"),
    channel: z.enum(["email", "sms"]),
    /** The event type the message was made for, e.g. `order.shipped`. */
    template: z.string(),
    /** The email address or the E.164 phone number it went to. */
    to: z.string(),
    /** Email only. */
    subject: z.string().optional(),
    body: z.string(),
    eventId: idSchema("evt"),
    /** For messages about an order. */
    orderId: OrderIdSchema.optional(),
    createdAt: z.string().meta({ description: "ISO 8601 time it was recorded" }),
    sentAt: z.string().nullable().meta({ description: "ISO 8601 time it was sent; null while pending" }),
    /** SMS only: its send failed, and it is never retried (SMS is sent at most once). */
    failedAt: z.string().optional().meta({ description: "ISO 8601 time its send failed (SMS only; not retried)" }),
  })
  .meta({ id: "Notification" });
export type Notification = z.infer<typeof NotificationSchema>;

export const NotificationPageSchema = pageOf(NotificationSchema).meta({ id: "NotificationPage" });
export type NotificationPage = z.infer<typeof NotificationPageSchema>;
