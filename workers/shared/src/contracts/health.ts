import { z } from "zod";

export const ServiceHealthSchema = z.object({ status: z.literal("ok"), service: z.string() });
export type ServiceHealth = z.infer<typeof ServiceHealthSchema>;

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    services: z.record(z.string(), z.enum(["ok", "down"])),
  })
  .meta({ id: "Health" });
export type Health = z.infer<typeof HealthSchema>;
