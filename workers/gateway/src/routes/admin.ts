import * as z from "zod";
import { BreakerSchema } from "#shared/contracts/breaker";
import type { ProxyRoute } from "./table";

/** Operations routes that are plain forwards. */
export const ADMIN_ROUTES: ProxyRoute[] = [
  {
    method: "get",
    path: "/api/admin/breakers",
    operationId: "listBreakers",
    summary: "Every circuit breaker with its state",
    tag: "admin",
    access: "admin",
    service: (env) => env.RESILIENCE,
    success: {
      status: 200,
      description: "The breakers",
      schema: z.object({ items: z.array(BreakerSchema), nextCursor: z.null() }).meta({ id: "BreakerList" }),
    },
  },
];
