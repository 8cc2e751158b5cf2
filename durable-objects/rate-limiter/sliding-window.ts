/**
 * The pure decision of the rate limiter: a sliding log. A bucket admits a request when, for every
 * one of its windows, fewer than `limit` admitted requests fall within the last `windowSeconds`.
 * Exact: no window of that length ever holds more than `limit` admissions. Refused requests are
 * not logged, so they use no quota.
 */
export interface Window {
  limit: number;
  windowSeconds: number;
}

export interface BucketSpec {
  /** The policy name shown in the RateLimit headers. */
  name: string;
  /** The bucket's key inside its object (the policy name, or e.g. `login:<email>`). */
  key: string;
  /** The first window is the policy's headline one (the headers report it); extra ones are looser. */
  windows: Window[];
}

export interface BucketState {
  name: string;
  limit: number;
  windowSeconds: number;
  /** Requests left in the headline window after this one. */
  remaining: number;
  /** Seconds until the headline window gives a unit back. */
  resetSeconds: number;
}

export interface Decision {
  allowed: boolean;
  /** When refused: seconds until every violated window has room again. */
  retryAfterSeconds: number;
  buckets: BucketState[];
}

export function maxWindowMs(spec: BucketSpec): number {
  return Math.max(...spec.windows.map((w) => w.windowSeconds)) * 1000;
}

/** Hits of one window: the admission times (ms, ascending) that are still inside it at `now`. */
function inWindow(hits: readonly number[], window: Window, now: number): number[] {
  const since = now - window.windowSeconds * 1000;
  return hits.filter((at) => at > since);
}

/** Seconds until the oldest of the hits that must expire leaves the window. */
function secondsUntilFree(live: number[], window: Window, now: number, mustFree: number): number {
  const hit = live[mustFree - 1];
  if (hit === undefined) return 0;
  return Math.max(1, Math.ceil((hit + window.windowSeconds * 1000 - now) / 1000));
}

/**
 * Decides one request against several buckets at once: it is admitted only if every bucket
 * admits it, and then it counts in every bucket. `hitsByBucket` holds each bucket's (by key) logged
 * admission times in ascending order.
 */
export function decide(
  specs: readonly BucketSpec[],
  hitsByBucket: ReadonlyMap<string, readonly number[]>,
  now: number,
): Decision {
  let allowed = true;
  let retryAfterSeconds = 0;
  for (const spec of specs) {
    const hits = hitsByBucket.get(spec.key) ?? [];
    for (const window of spec.windows) {
      const live = inWindow(hits, window, now);
      if (live.length >= window.limit) {
        allowed = false;
        // To admit one more, the oldest (live - limit + 1) hits must leave the window.
        retryAfterSeconds = Math.max(
          retryAfterSeconds,
          secondsUntilFree(live, window, now, live.length - window.limit + 1),
        );
      }
    }
  }
  const buckets = specs.map((spec): BucketState => {
    const headline = spec.windows[0] as Window;
    const live = inWindow(hitsByBucket.get(spec.key) ?? [], headline, now);
    if (allowed) live.push(now);
    return {
      name: spec.name,
      limit: headline.limit,
      windowSeconds: headline.windowSeconds,
      remaining: Math.max(0, headline.limit - live.length),
      resetSeconds: live.length === 0 ? 0 : secondsUntilFree(live, headline, now, 1),
    };
  });
  return { allowed, retryAfterSeconds: allowed ? 0 : retryAfterSeconds, buckets };
}
