// Token buckets per source address, for incoming INVITEs: a scanner or a flood from
// one address cannot take every call slot. The map of sources is bounded.

/** Sources tracked at once; the least recently seen is forgotten first. */
export const MAX_RATE_SOURCES = 1024;

export interface BucketSpec {
  /** Requests allowed in a burst. */
  burst: number;
  /** Tokens refilled per second. */
  perSecond: number;
}

/** The registrar forwards every legitimate call: a generous bucket (30 at once, 10 a second). */
export const TRUSTED_INVITE_RATE: BucketSpec = { burst: 30, perSecond: 10 };
/** Anyone else (trusted networks, "anyone"): 5 at once, one a second. */
export const OTHER_INVITE_RATE: BucketSpec = { burst: 5, perSecond: 1 };
/** Seconds a throttled trusted source is told to wait (Retry-After of the 503). */
export const INVITE_RETRY_AFTER_S = 5;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxSources = MAX_RATE_SOURCES,
  ) {}

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string, spec: BucketSpec): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(spec.burst, b.tokens + ((now - b.at) / 1000) * spec.perSecond);
      b.at = now;
    } else {
      while (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: spec.burst, at: now };
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
