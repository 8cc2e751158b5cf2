import type { HitLog } from "./sliding-window";

/** One admitted hit of one bucket, as the RateLimiter stores it. */
export interface HitRow {
  bucket: string;
  at: number;
  /** When the hit leaves the bucket's longest window; from then on it counts nowhere. */
  expiresAt: number;
}

interface BucketHits {
  /** Ascending. */
  at: number[];
  expiresAt: number[];
  /** The earliest of `expiresAt`: nothing to prune before then. */
  nextExpiry: number;
}

/** The index of the first element of the ascending `values` greater than `bound`. */
function firstAfter(values: readonly number[], bound: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) <= bound) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The live hits of a RateLimiter's buckets, held in the object's memory: exactly the stored rows
 * whose expiry is still ahead. The object loads it once per life and writes every change through
 * to SQLite, so an evicted object reloads the same window. Pure: no I/O, tested without a runtime.
 */
export class HitWindow implements HitLog {
  readonly #buckets = new Map<string, BucketHits>();
  #size = 0;
  #lastExpiry = 0;

  /** The window over stored rows (any order); `expired` counts the rows already past their expiry. */
  static load(rows: Iterable<HitRow>, now: number): { window: HitWindow; expired: number } {
    const window = new HitWindow();
    let expired = 0;
    for (const row of rows) {
      if (row.expiresAt <= now) expired++;
      else window.add(row.bucket, row.at, row.expiresAt);
    }
    return { window, expired };
  }

  /** How many live hits the window holds, over every bucket. */
  get size(): number {
    return this.#size;
  }

  /** The latest expiry of any hit ever added (epoch ms; 0 when none). */
  get lastExpiry(): number {
    return this.#lastExpiry;
  }

  add(bucket: string, at: number, expiresAt: number): void {
    this.#lastExpiry = Math.max(this.#lastExpiry, expiresAt);
    let hits = this.#buckets.get(bucket);
    if (!hits) {
      hits = { at: [], expiresAt: [], nextExpiry: expiresAt };
      this.#buckets.set(bucket, hits);
    }
    // Hits arrive in time order; a clock step backwards still keeps `at` ascending.
    const index =
      hits.at.length === 0 || (hits.at[hits.at.length - 1] as number) <= at ? hits.at.length : firstAfter(hits.at, at);
    hits.at.splice(index, 0, at);
    hits.expiresAt.splice(index, 0, expiresAt);
    hits.nextExpiry = Math.min(hits.nextExpiry, expiresAt);
    this.#size++;
  }

  /** Drops every hit whose expiry has come; returns how many (their stored rows are now stale). */
  prune(now: number): number {
    let dropped = 0;
    for (const [bucket, hits] of this.#buckets) {
      if (hits.nextExpiry > now) continue;
      const at: number[] = [];
      const expiresAt: number[] = [];
      let nextExpiry = Number.POSITIVE_INFINITY;
      hits.at.forEach((hit, i) => {
        const expiry = hits.expiresAt[i] as number;
        if (expiry <= now) return;
        at.push(hit);
        expiresAt.push(expiry);
        nextExpiry = Math.min(nextExpiry, expiry);
      });
      dropped += hits.at.length - at.length;
      if (at.length === 0) this.#buckets.delete(bucket);
      else this.#buckets.set(bucket, { at, expiresAt, nextExpiry });
    }
    this.#size -= dropped;
    return dropped;
  }

  count(key: string, since: number): number {
    const at = this.#buckets.get(key)?.at;
    return at ? at.length - firstAfter(at, since) : 0;
  }

  nth(key: string, since: number, k: number): number | undefined {
    const at = this.#buckets.get(key)?.at;
    return at ? at[firstAfter(at, since) + k - 1] : undefined;
  }
}
