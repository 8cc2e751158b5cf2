import * as z from "zod";
import type { Result } from "../result";
import { type CallContext, CentsSchema, CurrencySchema, OrderIdSchema } from "./common";

export const PaymentStatusSchema = z.enum(["authorized", "declined", "captured", "voided", "refunded"]);
export type PaymentStatus = z.infer<typeof PaymentStatusSchema>;

export interface Payment {
  id: string;
  orderId: string;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  /** The provider endpoint that holds the authorisation. */
  endpoint: string;
  providerRef: string | null;
  createdAt: string;
  updatedAt: string;
}

export const AuthorizeInputSchema = z.strictObject({
  orderId: OrderIdSchema,
  amountCents: CentsSchema,
  currency: CurrencySchema,
});
export type AuthorizeInput = z.infer<typeof AuthorizeInputSchema>;

const Rate = z.number().min(0).max(1);
export const FaultSpecSchema = z.strictObject({
  errorRate: Rate.optional(),
  declineRate: Rate.optional(),
  timeoutRate: Rate.optional(),
  latencyMs: z.number().int().min(0).max(30_000).optional(),
});
/** The provider's faults (the simulator): `{"psp": {...}, "psp:<endpoint>": {...}}`; zero rates or `{}` clear a target. */
export const FaultsSchema = z
  .record(
    z.string().regex(/^psp(:[a-z0-9-]{1,32})?$/, { error: 'Targets are "psp" or "psp:<endpoint>".' }),
    FaultSpecSchema,
  )
  .meta({ id: "ProviderFaults" });
export type FaultSpec = z.infer<typeof FaultSpecSchema>;
export type Faults = z.infer<typeof FaultsSchema>;

/**
 * The payments RPC surface (`PaymentsService` entrypoint). Each money movement is idempotent by
 * order id. `payment_declined` is a business failure (never retried); `unavailable`/`timeout` are
 * transient (the provider or every endpoint failed).
 */
export interface PaymentsRpc {
  health(): Promise<{ status: "ok"; service: string }>;
  authorize(input: AuthorizeInput, context?: CallContext): Promise<Result<Payment>>;
  capture(orderId: string, context?: CallContext): Promise<Result<Payment>>;
  /** Releases an authorisation; a no-op success when there is none or it was declined. */
  void(orderId: string, context?: CallContext): Promise<Result<Payment | null>>;
  refund(orderId: string, context?: CallContext): Promise<Result<Payment>>;
  /** The order's payment; `null` when it has none. */
  payment(orderId: string): Promise<Result<Payment | null>>;
  /** Sets provider faults (only where FAULTS_ENABLED = "true"). */
  setFaults(faults: Faults): Promise<Result<Faults>>;
}
