import * as z from "zod";
import { idSchema, pagedQuerySchema } from "#shared/contracts/common";
import { type AppEnv, requireIdentity, serviceApp } from "#shared/http";
import { parseOrThrow } from "#shared/validation";
import { NotificationsRepository } from "./repository";

/** A user's messages are paged by (the time they were recorded, their id). */
const ListQuery = pagedQuerySchema(z.tuple([z.string(), idSchema("ntf")]));

/** The HTTP app of shop-notifications, reached only by the gateway over the service binding. */
export const app = serviceApp<AppEnv<Env>>("shop-notifications").get("/api/notifications", async (c) => {
  // Everyone, admins included, sees only the messages sent to them.
  const identity = requireIdentity(c);
  const { limit, cursor } = parseOrThrow(ListQuery, c.req.query(), "query");
  return c.json(await new NotificationsRepository(c.env.DB).list({ userId: identity.userId, limit, cursor }));
});
