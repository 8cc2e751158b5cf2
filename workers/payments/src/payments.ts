import type { AuthorizeInput, Faults, Payment, PaymentStatus } from "#shared/contracts/payments";
import { newId } from "#shared/ids";
import { fail, ok, type Result } from "#shared/result";
import type { PaymentsConfig } from "./config";
import type { ProviderAttempt, ProviderAuthorization, ProviderCall, ProviderClient } from "./provider-client";
import type { PaymentsRepository, StoredAttempt } from "./repository";

/**
 * The payment use cases. The payment row (one per order) is the truth: each movement first reads
 * it and calls the provider only when the row says the movement has not happened; the row then
 * records what the provider confirmed. Nothing is ever charged twice: the provider is idempotent
 * by reference (our order id) and by authorisation id, and the row is written with conditional
 * statements, so concurrent or repeated calls converge on one authorisation and one capture.
 * Results are values: expected failures never throw.
 */

export interface PaymentsDeps {
  repo: PaymentsRepository;
  provider: ProviderClient;
  now?: () => Date;
  /** Schedules the second look of a void that found nothing at the provider. */
  scheduleRecheck?: (orderId: string) => Promise<void>;
}

type Action = "capture" | "void" | "refund";

const ACTIONS: Record<Action, { from: PaymentStatus; to: PaymentStatus }> = {
  capture: { from: "authorized", to: "captured" },
  void: { from: "authorized", to: "voided" },
  refund: { from: "captured", to: "refunded" },
};

const nowIso = (deps: PaymentsDeps) => (deps.now?.() ?? new Date()).toISOString();

/**
 * Authorises the order's amount once. A repeat returns what the first call stored without calling
 * the provider: the payment (authorized or captured), `payment_declined` again for a decline,
 * `conflict` once it was voided or refunded or for another amount.
 */
export async function authorize(deps: PaymentsDeps, input: AuthorizeInput): Promise<Result<Payment>> {
  const stored = await deps.repo.find(input.orderId);
  if (stored) return authorizationOutcome(stored, input);
  const call = await deps.provider.authorize({
    reference: input.orderId,
    amountCents: input.amountCents,
    currency: input.currency,
  });
  if (!call.result.ok) return failed(deps, input.orderId, call);
  const auth = call.result.value;
  if (auth.reference !== input.orderId) {
    await deps.repo.recordAttempts(input.orderId, call.attempts);
    return fail("bad_gateway", `The provider answered for ${auth.reference} instead of ${input.orderId}.`);
  }
  const payment = await deps.repo.insert(newPayment(deps, auth), call.attempts);
  return authorizationOutcome(payment, input);
}

export async function capture(deps: PaymentsDeps, orderId: string): Promise<Result<Payment>> {
  return move(deps, orderId, "capture");
}

export async function refund(deps: PaymentsDeps, orderId: string): Promise<Result<Payment>> {
  return move(deps, orderId, "refund");
}

/**
 * Releases the authorisation. A no-op success for a declined or voided payment, and `null` when
 * the order has none. Without a payment row we never trust our own ledger to say that nothing was
 * authorised (the provider may have acted on a call whose answer, or whose write, we lost): the
 * provider is asked by reference (our order id) and what it holds is voided. When it holds
 * nothing, one more look is scheduled after a delay (`scheduleRecheck`), since a provider may
 * still process a request it received late.
 */
export async function voidPayment(deps: PaymentsDeps, orderId: string): Promise<Result<Payment | null>> {
  const stored = await deps.repo.find(orderId);
  if (stored) {
    if (stored.status === "declined" || stored.status === "voided") return ok(stored);
    return move(deps, orderId, "void");
  }
  const found = await voidByReference(deps, orderId);
  if (found.ok && found.value === null) await deps.scheduleRecheck?.(orderId);
  return found;
}

/**
 * The second look of a void that found nothing: what the provider holds for `orderId` now is
 * voided (and recorded); nothing is still nothing. A failure is for the caller to retry.
 */
export async function recheckVoid(deps: PaymentsDeps, orderId: string): Promise<Result<Payment | null>> {
  const stored = await deps.repo.find(orderId);
  if (stored) return stored.status === "authorized" ? move(deps, orderId, "void") : ok(stored);
  return voidByReference(deps, orderId);
}

/** Looks the authorisation up by reference and voids it if it is held; stores what it found. */
async function voidByReference(deps: PaymentsDeps, orderId: string): Promise<Result<Payment | null>> {
  const lookup = await deps.provider.lookup(orderId);
  if (!lookup.result.ok) return failed(deps, orderId, lookup);
  const found = lookup.result.value;
  if (!found) {
    await deps.repo.recordAttempts(orderId, lookup.attempts);
    return ok(null);
  }
  let auth = found;
  let trail = lookup.attempts;
  if (found.status === "authorized") {
    const voided = await deps.provider.void(found.id);
    trail = [...trail, ...voided.attempts];
    if (!voided.result.ok) return failed(deps, orderId, { result: voided.result, attempts: trail });
    auth = voided.result.value;
  }
  const payment = await deps.repo.insert(newPayment(deps, auth), trail);
  if (payment.status === "voided" || payment.status === "declined") return ok(payment);
  return fail("conflict", `The payment for ${orderId} is ${payment.status}; it cannot be voided.`);
}

export function payment(deps: PaymentsDeps, orderId: string): Promise<Payment | null> {
  return deps.repo.find(orderId);
}

export function attempts(deps: PaymentsDeps, orderId: string): Promise<StoredAttempt[]> {
  return deps.repo.attempts(orderId);
}

/** How long the simulator's fault API may take to answer (it is slow on a loaded machine). */
const ADMIN_TIMEOUT_MS = 15_000;

/** Provider faults, only where they are enabled (elsewhere the feature does not exist: not_found). */
export async function setFaults(
  config: Pick<PaymentsConfig, "faultsEnabled" | "adminUrl" | "timeoutMs">,
  faults: Faults,
  send: (url: string, faults: Faults, timeoutMs: number) => Promise<Result<Faults>>,
): Promise<Result<Faults>> {
  if (!config.faultsEnabled || !config.adminUrl) return fail("not_found", "Faults cannot be set here.");
  // An operator's call, not a payment: it may wait longer than a provider call would.
  return send(`${config.adminUrl}/faults`, faults, Math.max(config.timeoutMs, ADMIN_TIMEOUT_MS));
}

/** Capture, void or refund, idempotently: the movement is asked of the provider only once it is due. */
async function move(deps: PaymentsDeps, orderId: string, action: Action): Promise<Result<Payment>> {
  const { from, to } = ACTIONS[action];
  const stored = await deps.repo.find(orderId);
  if (!stored) return fail("not_found", `Order ${orderId} has no payment.`);
  if (stored.status === to) return ok(stored);
  if (stored.status !== from || !stored.providerRef) {
    return fail("conflict", `Cannot ${action} a payment that is ${stored.status}.`);
  }
  const call = await deps.provider[action](stored.providerRef);
  if (!call.result.ok) return failed(deps, orderId, call);
  if (call.result.value.status !== to) {
    await deps.repo.recordAttempts(orderId, call.attempts);
    return fail("conflict", `The provider holds the payment as ${call.result.value.status}.`);
  }
  const payment = await deps.repo.transition(orderId, from, to, call.attempts, nowIso(deps));
  // Another call may have moved the row first (a concurrent void won over this capture).
  if (payment.status !== to) return fail("conflict", `Cannot ${action} a payment that is ${payment.status}.`);
  return ok(payment);
}

function authorizationOutcome(payment: Payment, input: AuthorizeInput): Result<Payment> {
  if (payment.amountCents !== input.amountCents || payment.currency !== input.currency) {
    return fail(
      "conflict",
      `Order ${input.orderId} already has a payment of ${payment.amountCents} ${payment.currency}.`,
    );
  }
  switch (payment.status) {
    case "authorized":
    case "captured":
      return ok(payment);
    case "declined":
      return fail("payment_declined", `The payment for order ${input.orderId} was declined.`);
    default:
      return fail("conflict", `The payment for order ${input.orderId} is already ${payment.status}.`);
  }
}

function newPayment(deps: PaymentsDeps, auth: ProviderAuthorization): Payment {
  const now = nowIso(deps);
  return {
    id: newId("pay"),
    orderId: auth.reference,
    amountCents: auth.amountCents,
    currency: auth.currency,
    status: auth.status,
    endpoint: auth.endpoint,
    providerRef: auth.id,
    createdAt: now,
    updatedAt: now,
  };
}

async function failed<T>(deps: PaymentsDeps, orderId: string, call: ProviderCall<unknown>): Promise<Result<T>> {
  await deps.repo.recordAttempts(orderId, call.attempts as ProviderAttempt[]);
  return call.result.ok ? fail("internal", "A provider call failed without a failure.") : call.result;
}
