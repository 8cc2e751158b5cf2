import { childTrace, type TraceContext } from "./trace";

/**
 * Spans as log lines (README "Traces"): every span-worthy step (an inbound request, an RPC, HTTP or
 * Durable Object call on the caller's side, a queue send or consume, a provider call, a
 * notification send) runs inside `span`, which logs one JSON line when it ends:
 * `{message: "span", service, name, traceId, spanId, parentSpanId, durationMs, outcome}`.
 * Following `parentSpanId` from the lines of one `traceId` rebuilds the story of one request.
 */
export interface SpanOptions<T> {
  service: string;
  /** What the step is, e.g. `POST /api/orders`, `rpc catalog.reserve`, `consume shop-events`. */
  name: string;
  /** The caller's span; none starts a new trace. */
  parent: TraceContext | undefined;
  /** How the step ended, from its value (default: a failed `Result`'s code, else "ok"). */
  outcome?: (value: T) => string;
  /** More fields for the line (ids, the queue, the endpoint). */
  fields?: Record<string, unknown>;
}

function defaultOutcome(value: unknown): string {
  if (typeof value === "object" && value !== null && "ok" in value && value.ok === false) {
    return String((value as { code?: unknown }).code ?? "failed");
  }
  return "ok";
}

/** Runs `fn` as a child span of `parent` (it gets the span's trace to pass on) and logs the span. */
export async function span<T>(options: SpanOptions<NoInfer<T>>, fn: (trace: TraceContext) => Promise<T>): Promise<T> {
  const trace = childTrace(options.parent);
  const started = Date.now();
  let outcome = "threw";
  try {
    const value = await fn(trace);
    outcome = (options.outcome ?? defaultOutcome)(value);
    return value;
  } finally {
    const line = {
      level: outcome === "threw" ? "warn" : "info",
      time: new Date().toISOString(),
      message: "span",
      service: options.service,
      name: options.name,
      traceId: trace.traceId,
      spanId: trace.spanId,
      parentSpanId: options.parent?.spanId ?? null,
      durationMs: Date.now() - started,
      outcome,
      ...options.fields,
    };
    if (outcome === "threw") console.warn(JSON.stringify(line));
    else console.log(JSON.stringify(line));
  }
}
