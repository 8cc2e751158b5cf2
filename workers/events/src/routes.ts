import * as z from "zod";
import { pagedQuerySchema } from "#shared/contracts/common";
import {
  DeadLetterQuerySchema,
  EventQuerySchema,
  RedriveInputSchema,
  ReplayInputSchema,
} from "#shared/contracts/events";
import { type AppEnv, requireAdmin, serviceApp } from "#shared/http";
import { parseOrThrow, readBody } from "#shared/validation";
import { redrive } from "./dead-letters";
import { replay } from "./replay";
import { EventsRepository } from "./repository";

/** The log and dead letters are paged by (a time, an id). */
const EventListQuery = pagedQuerySchema(z.tuple([z.string(), z.string()])).extend(EventQuerySchema.shape);
const DeadLetterListQuery = pagedQuerySchema(z.tuple([z.string(), z.string()])).extend(DeadLetterQuerySchema.shape);

const utc = (time: string | undefined) => (time === undefined ? undefined : new Date(time).toISOString());

/** The admin HTTP app of shop-events, reached only by the gateway over the service binding. */
export const app = serviceApp<AppEnv<Env>>("shop-events")
  .get("/api/admin/events", async (c) => {
    requireAdmin(c);
    const query = parseOrThrow(EventListQuery, c.req.query(), "query");
    return c.json(await new EventsRepository(c.env.DB).list({ ...query, from: utc(query.from), to: utc(query.to) }));
  })
  .post("/api/admin/events/replay", async (c) => {
    const admin = requireAdmin(c);
    const input = await readBody(c.req.raw, ReplayInputSchema);
    const result = await replay(c.env, input);
    c.get("log").info("replay", { by: admin.userId, ...input, ...result });
    return c.json(result);
  })
  .get("/api/admin/dead-letters", async (c) => {
    requireAdmin(c);
    const query = parseOrThrow(DeadLetterListQuery, c.req.query(), "query");
    return c.json(await new EventsRepository(c.env.DB).listDeadLetters(query));
  })
  .post("/api/admin/dead-letters/redrive", async (c) => {
    const admin = requireAdmin(c);
    const input = await readBody(c.req.raw, RedriveInputSchema);
    const redriven = await redrive(c.env, input.ids);
    c.get("log").info("redrive", { by: admin.userId, ids: input.ids ?? "all waiting", redriven });
    return c.json({ redriven });
  });
