import { ListQuerySchema } from "#shared/contracts/common";
import {
  DeadLetterPageSchema,
  DeadLetterQuerySchema,
  EventPageSchema,
  EventQuerySchema,
  RedriveInputSchema,
  RedriveResultSchema,
  ReplayInputSchema,
  ReplayResultSchema,
} from "#shared/contracts/events";
import type { ProxyRoute } from "./table";

const events = (env: Env) => env.EVENTS;

/** Operations on the event bus, served by shop-events: the log, replay and dead letters. */
export const EVENT_ROUTES: ProxyRoute[] = [
  {
    method: "get",
    path: "/api/admin/events",
    operationId: "listEvents",
    summary: "The event log, newest first; filter by type, subject and time range",
    tag: "admin",
    access: "admin",
    service: events,
    query: ListQuerySchema.extend(EventQuerySchema.shape),
    success: { status: 200, description: "A page of stored event envelopes", schema: EventPageSchema },
  },
  {
    method: "post",
    path: "/api/admin/events/replay",
    operationId: "replayEvents",
    summary: "Send the stored events of a time range (and types) to a subscriber again",
    tag: "admin",
    access: "admin",
    service: events,
    body: ReplayInputSchema,
    success: { status: 200, description: "How many events were sent", schema: ReplayResultSchema },
  },
  {
    method: "get",
    path: "/api/admin/dead-letters",
    operationId: "listDeadLetters",
    summary: "Messages a consumer gave up on, newest first",
    tag: "admin",
    access: "admin",
    service: events,
    query: ListQuerySchema.extend(DeadLetterQuerySchema.shape),
    success: { status: 200, description: "A page of dead letters", schema: DeadLetterPageSchema },
  },
  {
    method: "post",
    path: "/api/admin/dead-letters/redrive",
    operationId: "redriveDeadLetters",
    summary: "Send dead letters back to the queue they failed on",
    tag: "admin",
    access: "admin",
    service: events,
    body: RedriveInputSchema,
    success: { status: 200, description: "How many were sent back", schema: RedriveResultSchema },
  },
];
