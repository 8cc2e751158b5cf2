import { ListQuerySchema } from "#shared/contracts/common";
import { NotificationPageSchema } from "#shared/contracts/notifications";
import type { ProxyRoute } from "./table";

const notifications = (env: Env) => env.NOTIFICATIONS;

/** Public routes served by shop-notifications. Everyone, admins included, sees only their own messages. */
export const NOTIFICATION_ROUTES: ProxyRoute[] = [
  {
    method: "get",
    path: "/api/notifications",
    operationId: "listNotifications",
    summary: "The emails and SMS sent to you, newest first",
    tag: "notifications",
    access: "user",
    service: notifications,
    query: ListQuerySchema,
    success: { status: 200, description: "A page of your notifications", schema: NotificationPageSchema },
  },
];
