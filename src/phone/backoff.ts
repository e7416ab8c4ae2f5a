// Exponential back-off with jitter for registration retries. Two ceilings: an
// unreachable server is probed often (so we are back within seconds once it is up),
// a server that said "no" (wrong password, forbidden) is not hammered.

/** Longest Retry-After (RFC 3261 §20.33) we honour: a server cannot park us for longer. */
export const MAX_RETRY_AFTER_SECONDS = 3600;
/** setTimeout's limit: a longer delay overflows to 1 ms (Node clamps it to 1). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay made safe for setTimeout: a finite number in [0, MAX_TIMER_MS]. */
export function safeDelayMs(ms: number): number {
  if (!Number.isFinite(ms)) return ms === Infinity ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

export type FailureKind = "network" | "rejected";

export interface BackoffOptions {
  baseMs: number;
  networkCapMs: number;
  rejectedCapMs: number;
  jitter: number; // ±fraction
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 2000, networkCapMs: 8000, rejectedCapMs: 300_000, jitter: 0.2 };

export class Backoff {
  private attempts = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  reset(): void {
    this.attempts = 0;
  }

  /** Delay before the next attempt; `retryAfterSeconds` (RFC 3261 §20.33) wins when the server gives one,
   *  up to MAX_RETRY_AFTER_SECONDS. */
  next(kind: FailureKind, retryAfterSeconds?: number): number {
    const cap = kind === "network" ? this.opts.networkCapMs : this.opts.rejectedCapMs;
    const exp = Math.min(cap, this.opts.baseMs * 2 ** this.attempts);
    this.attempts++;
    const rnd = this.opts.random ?? Math.random;
    const jittered = exp * (1 + this.opts.jitter * (2 * rnd() - 1));
    const retryAfter = Number(retryAfterSeconds);
    const floor = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS) * 1000 : 0;
    return safeDelayMs(Math.max(floor, jittered));
  }
}
