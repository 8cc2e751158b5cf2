/**
 * A value memoised for `ttlMs` after it was computed, shared by every caller meanwhile: callers
 * that arrive while it is being computed wait for that one computation (single flight). A failed
 * computation is not kept. Pure: the clock is injected. Holds its state in the closure, so one
 * `memoise()` per isolate (the gateway makes one per app, and there is one app per isolate).
 */
export function memoise<T>(ttlMs: number, now: () => number = Date.now): (compute: () => Promise<T>) => Promise<T> {
  if (!(ttlMs > 0)) throw new Error(`memoise: ttl must be a positive number of ms, got ${ttlMs}`);
  let entry: { value: Promise<T>; freshUntil: number } | undefined;
  return function memoised(compute) {
    if (entry && now() < entry.freshUntil) return entry.value;
    // In flight until it settles; fresh for ttlMs from then (a slow fan-out is not stale at once).
    const current = { value: compute(), freshUntil: Number.POSITIVE_INFINITY };
    entry = current;
    current.value.then(
      () => {
        if (entry === current) current.freshUntil = now() + ttlMs;
      },
      () => {
        if (entry === current) entry = undefined;
      },
    );
    return current.value;
  };
}
