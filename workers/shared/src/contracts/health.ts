import * as z from "zod";
import { BreakerSchema } from "./breaker";

export const ServiceHealthSchema = z.object({ status: z.literal("ok"), service: z.string() });
export type ServiceHealth = z.infer<typeof ServiceHealthSchema>;

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    services: z.record(z.string(), z.enum(["ok", "down"])),
  })
  .meta({ id: "Health" });
export type Health = z.infer<typeof HealthSchema>;

/** One service as the admin view reports it: its answer, how long it took, and why it is down. */
export const ServiceCheckSchema = z.object({
  status: z.enum(["ok", "down"]),
  latencyMs: z.number().int().min(0),
  error: z.string().optional(),
});
export type ServiceCheck = z.infer<typeof ServiceCheckSchema>;

/** `GET /api/admin/health`: checked afresh on each call, for admins only. */
export const HealthDetailSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checkedAt: z.string().meta({ description: "ISO 8601 time of the check" }),
    services: z.record(z.string(), ServiceCheckSchema),
    breakers: z
      .array(BreakerSchema)
      .nullable()
      .meta({ description: "Every circuit breaker, provider endpoints (psp:<name>) included; null if unavailable" }),
  })
  .meta({ id: "HealthDetail" });
export type HealthDetail = z.infer<typeof HealthDetailSchema>;
