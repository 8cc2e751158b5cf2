import * as z from "zod";
import type { BreakerTrace } from "#shared/breaker-client";
import type { BreakerState } from "#shared/contracts/breaker";
import { type Faults, FaultsSchema } from "#shared/contracts/payments";
import { type ErrorCode, isTransient } from "#shared/errors";
import { fail, ok, type Result } from "#shared/result";
import { type BackoffPolicy, fullJitterDelay } from "#shared/retry";
import { span } from "#shared/span";
import { formatTraceparent, type TraceContext } from "#shared/trace";
import type { Balancer } from "./balancer";
import type { ProviderEndpoint } from "./config";

/**
 * The payment provider over HTTP. Each call goes to an endpoint the balancer picks, through that
 * endpoint's circuit breaker (`psp:<endpoint>`): an endpoint whose breaker refuses is skipped
 * without being called; a transient failure (5xx, timeout, unreachable) fails over to another
 * endpoint after a full-jitter pause, up to `maxAttempts` calls in all. A decline is the
 * provider's answer, not a failure: never retried and, to the breaker, a success.
 *
 * Every call and every skip is returned as an attempt, for the ledger.
 */

export type Operation = "authorize" | "capture" | "void" | "refund" | "lookup";

/**
 * ok / declined: the provider answered; rejected: it refused the request (404, 409, 4xx);
 * error / timeout: a transient failure; skipped: the endpoint's breaker refused, nothing was sent.
 */
export type AttemptOutcome = "ok" | "declined" | "rejected" | "error" | "timeout" | "skipped";

export interface ProviderAttempt {
  operation: Operation;
  endpoint: string;
  /** 1..maxAttempts; a skip carries the number of the attempt it was looking an endpoint for. */
  attempt: number;
  outcome: AttemptOutcome;
  /** The breaker's answer before the call. */
  breaker: BreakerState;
  durationMs: number;
  error: string | null;
  at: string;
}

export const ProviderAuthorizationSchema = z.object({
  id: z.string().min(1).max(128),
  reference: z.string(),
  status: z.enum(["authorized", "declined", "captured", "voided", "refunded"]),
  amountCents: z.number().int().min(0),
  currency: z.string(),
  endpoint: z.string(),
});
export type ProviderAuthorization = z.infer<typeof ProviderAuthorizationSchema>;

const ProviderListSchema = z.object({ items: z.array(ProviderAuthorizationSchema).max(1) });
const ProblemDetailSchema = z.object({ detail: z.string() });

export interface ProviderCall<T> {
  result: Result<T>;
  attempts: ProviderAttempt[];
}

/** What the client needs of BreakerClient (a test may pass its own). */
export interface Breakers {
  call<T>(name: string, fn: () => Promise<Result<T>>): Promise<Result<T> & { trace: BreakerTrace }>;
}

export interface ProviderClientOptions {
  balancer: Balancer<ProviderEndpoint>;
  breakers: Breakers;
  timeoutMs: number;
  maxAttempts: number;
  /** The provider's API key, sent as `Authorization: Bearer` on every call. */
  apiKey: string;
  backoff?: BackoffPolicy;
  /** The caller's trace: each provider call is a child span of it, sent as `traceparent`. */
  parent?: TraceContext | undefined;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** In-request retries: short pauses, the caller (the saga) is waiting. */
export const PROVIDER_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 1_000 };

interface HttpRequest {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
}

export const breakerName = (endpoint: string) => `psp:${endpoint}`;

export class ProviderClient {
  readonly #options: Required<Omit<ProviderClientOptions, "backoff" | "parent">> & {
    backoff: BackoffPolicy;
    parent: TraceContext | undefined;
  };

  constructor(options: ProviderClientOptions) {
    this.#options = {
      backoff: PROVIDER_BACKOFF,
      fetch: (input, init) => fetch(input, init),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      ...options,
      parent: options.parent,
    };
  }

  authorize(input: { reference: string; amountCents: number; currency: string }) {
    return this.#run("authorize", { method: "POST", path: "/v1/authorizations", body: input }, authorizationOf);
  }

  capture(providerRef: string) {
    return this.#action("capture", providerRef);
  }

  void(providerRef: string) {
    return this.#action("void", providerRef);
  }

  refund(providerRef: string) {
    return this.#action("refund", providerRef);
  }

  /** The provider's authorisation for a reference, if it has one. */
  lookup(reference: string): Promise<ProviderCall<ProviderAuthorization | null>> {
    const path = `/v1/authorizations?reference=${encodeURIComponent(reference)}`;
    return this.#run("lookup", { method: "GET", path }, (body) => {
      const list = ProviderListSchema.safeParse(body);
      return list.success ? ok(list.data.items[0] ?? null) : fail("bad_gateway", "The provider's answer is malformed.");
    });
  }

  #action(operation: "capture" | "void" | "refund", providerRef: string) {
    const path = `/v1/authorizations/${encodeURIComponent(providerRef)}/${operation}`;
    return this.#run(operation, { method: "POST", path }, authorizationOf);
  }

  async #run<T>(
    operation: Operation,
    request: HttpRequest,
    parse: (body: unknown) => Result<T>,
  ): Promise<ProviderCall<T>> {
    const { balancer, breakers, maxAttempts } = this.#options;
    const attempts: ProviderAttempt[] = [];
    const refused = new Set<string>(); // breaker open (or probe taken): not asked again in this call
    const failed = new Set<string>(); // failed in this call: others first
    const failures: string[] = [];
    let last: Result<T> | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1)
        await this.#options.sleep(fullJitterDelay(attempt - 1, this.#options.backoff, this.#options.random));
      for (;;) {
        const endpoint = balancer.pick(new Set([...refused, ...failed])) ?? balancer.pick(refused);
        if (!endpoint) {
          const detail = `Every payment provider endpoint is unavailable (circuits open)${summary(failures)}.`;
          return { result: fail("unavailable", detail), attempts };
        }
        const startedAt = Date.now();
        const outcome = await breakers.call(breakerName(endpoint.name), () =>
          this.#send(endpoint, request).then((response) => (response.ok ? parse(response.value) : response)),
        );
        const { trace, ...result } = outcome;
        attempts.push(attemptOf(operation, endpoint.name, attempt, result as Result<unknown>, trace, startedAt));
        if (!trace.called) {
          refused.add(endpoint.name);
          continue;
        }
        if (result.ok || !isTransient(result.code)) return { result, attempts };
        failed.add(endpoint.name);
        failures.push(`${endpoint.name}: ${result.detail}`);
        last = result;
        break;
      }
    }
    const code: ErrorCode = last && !last.ok ? last.code : "unavailable";
    const detail = `The payment provider failed ${maxAttempts} attempt(s)${summary(failures)}.`;
    return { result: fail(code, detail), attempts };
  }

  /** One HTTP call, a span of the caller's trace; every failure becomes a result (transient or not, by the status). */
  #send(endpoint: ProviderEndpoint, request: HttpRequest): Promise<Result<unknown>> {
    const { balancer, parent } = this.#options;
    const done = balancer.begin(endpoint.name);
    const fields = { endpoint: endpoint.name, method: request.method, path: request.path.split("?")[0] };
    return span({ service: "shop-payments", name: "provider call", parent, fields }, (trace) =>
      this.#exchange(endpoint, request, trace),
    ).finally(done);
  }

  async #exchange(endpoint: ProviderEndpoint, request: HttpRequest, trace: TraceContext): Promise<Result<unknown>> {
    const { timeoutMs } = this.#options;
    try {
      const response = await this.#options.fetch(`${endpoint.url}${request.path}`, {
        method: request.method,
        headers: {
          accept: "application/json",
          authorization: `Bearer ${this.#options.apiKey}`,
          traceparent: formatTraceparent(trace),
          ...(request.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (response.ok) {
        try {
          return ok(JSON.parse(text) as unknown);
        } catch {
          return fail("bad_gateway", `${endpoint.name} answered ${response.status} with a body that is not JSON.`);
        }
      }
      return fail(codeForStatus(response.status), `${endpoint.name} answered ${response.status}: ${detailOf(text)}`);
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        return fail("timeout", `${endpoint.name} did not answer within ${timeoutMs} ms.`);
      }
      return fail("unavailable", `${endpoint.name} is unreachable: ${error instanceof Error ? error.message : error}`);
    }
  }
}

function authorizationOf(body: unknown): Result<ProviderAuthorization> {
  const parsed = ProviderAuthorizationSchema.safeParse(body);
  return parsed.success ? ok(parsed.data) : fail("bad_gateway", "The provider's answer is malformed.");
}

/** Provider statuses to our codes: 5xx and throttling are transient; other 4xx are answers. */
function codeForStatus(status: number): ErrorCode {
  if (status === 402) return "payment_declined";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 504) return "timeout";
  if (status === 408 || status === 425 || status === 429 || status >= 500) return "unavailable";
  // Any other refusal means we sent something wrong: retrying cannot help.
  return "unprocessable";
}

function detailOf(text: string): string {
  try {
    const problem = ProblemDetailSchema.safeParse(JSON.parse(text));
    if (problem.success) return problem.data.detail.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || "(no body)";
}

function summary(failures: string[]): string {
  return failures.length > 0 ? ` (${failures.join("; ")})` : "";
}

function attemptOf(
  operation: Operation,
  endpoint: string,
  attempt: number,
  result: Result<unknown>,
  trace: BreakerTrace,
  startedAt: number,
): ProviderAttempt {
  let outcome: AttemptOutcome;
  if (!trace.called) outcome = "skipped";
  else if (result.ok) outcome = isDeclined(result.value) ? "declined" : "ok";
  else if (result.code === "timeout") outcome = "timeout";
  else outcome = isTransient(result.code) ? "error" : "rejected";
  return {
    operation,
    endpoint,
    attempt,
    outcome,
    breaker: trace.breaker,
    durationMs: Date.now() - startedAt,
    error: result.ok ? null : result.detail.slice(0, 500),
    at: new Date(startedAt).toISOString(),
  };
}

function isDeclined(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { status?: unknown }).status === "declined";
}

/**
 * PUTs faults to the simulator's admin API (never through the breakers: this is operator
 * tooling, not traffic). Its 400 is a validation failure; anything else unexpected is transient.
 */
export async function putProviderFaults(
  url: string,
  faults: Faults,
  timeoutMs: number,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): Promise<Result<Faults>> {
  try {
    const response = await fetcher(url, {
      method: "PUT",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(faults),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status === 400) return fail("validation_failed", `The provider refused the faults: ${detailOf(text)}`);
    if (response.status === 404) return fail("not_found", "The provider does not accept faults.");
    if (!response.ok) return fail("unavailable", `The provider answered ${response.status}: ${detailOf(text)}`);
    const parsed = FaultsSchema.safeParse(JSON.parse(text));
    return parsed.success ? ok(parsed.data) : fail("bad_gateway", "The provider's answer is malformed.");
  } catch (error) {
    return fail("unavailable", `The provider's admin API failed: ${error instanceof Error ? error.message : error}`);
  }
}
