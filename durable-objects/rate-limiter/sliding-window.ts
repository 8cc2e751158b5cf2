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

/**
 * What the decision reads of a bucket's log: how many admitted hits fall after `since`, and the
 * k-th oldest of them (1-based). The Durable Object answers from its in-memory window
 * (`HitWindow`, by binary search); tests may answer from arrays (`arrayLog`).
 */
export interface HitLog {
  count(key: string, since: number): number;
  nth(key: string, since: number, k: number): number | undefined;
}

/** A HitLog over in-memory logs (each ascending), for tests and pure callers. */
export function arrayLog(hitsByBucket: ReadonlyMap<string, readonly number[]>): HitLog {
  const live = (key: string, since: number) => (hitsByBucket.get(key) ?? []).filter((at) => at > since);
  return {
    count: (key, since) => live(key, since).length,
    nth: (key, since, k) => live(key, since)[k - 1],
  };
}

/** Seconds until the given hit leaves the window (at least 1). */
function secondsUntilGone(hit: number | undefined, window: Window, now: number): number {
  if (hit === undefined) return 0;
  return Math.max(1, Math.ceil((hit + window.windowSeconds * 1000 - now) / 1000));
}

/**
 * Decides one request against several buckets at once: it is admitted only if every bucket
 * admits it, and then it counts in every bucket. `log` is each bucket's (by key) admitted hits;
 * a map of ascending arrays is accepted too.
 */
export function decide(
  specs: readonly BucketSpec[],
  log: HitLog | ReadonlyMap<string, readonly number[]>,
  now: number,
): Decision {
  const hits = log instanceof Map ? arrayLog(log) : (log as HitLog);
  let allowed = true;
  let retryAfterSeconds = 0;
  for (const spec of specs) {
    for (const window of spec.windows) {
      const since = now - window.windowSeconds * 1000;
      const live = hits.count(spec.key, since);
      if (live >= window.limit) {
        allowed = false;
        // To admit one more, the oldest (live - limit + 1) hits must leave the window.
        retryAfterSeconds = Math.max(
          retryAfterSeconds,
          secondsUntilGone(hits.nth(spec.key, since, live - window.limit + 1), window, now),
        );
      }
    }
  }
  const buckets = specs.map((spec): BucketState => {
    const headline = spec.windows[0] as Window;
    const since = now - headline.windowSeconds * 1000;
    const logged = hits.count(spec.key, since);
    const live = logged + (allowed ? 1 : 0);
    // The oldest hit in the window: the oldest logged one, or this request if it is the only one.
    const oldest = logged > 0 ? hits.nth(spec.key, since, 1) : allowed ? now : undefined;
    return {
      name: spec.name,
      limit: headline.limit,
      windowSeconds: headline.windowSeconds,
      remaining: Math.max(0, headline.limit - live),
      resetSeconds: live === 0 ? 0 : secondsUntilGone(oldest, headline, now),
    };
  });
  return { allowed, retryAfterSeconds: allowed ? 0 : retryAfterSeconds, buckets };
}
