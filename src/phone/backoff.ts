// Exponential back-off with jitter for registration retries. Two ceilings: an
// unreachable server is probed often (so we are back within seconds once it is up),
// a server that said "no" (wrong password, forbidden) is not hammered.

export type FailureKind = "network" | "rejected";

export interface BackoffOptions {
  baseMs: number;
  networkCapMs: number;
  rejectedCapMs: number;
  jitter: number;          // ±fraction
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 2000, networkCapMs: 8000, rejectedCapMs: 300_000, jitter: 0.2 };

export class Backoff {
  private attempts = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  reset(): void { this.attempts = 0; }

  /** Delay before the next attempt; `retryAfterSeconds` (RFC 3261 §20.33) wins when the server gives one. */
  next(kind: FailureKind, retryAfterSeconds?: number): number {
    const cap = kind === "network" ? this.opts.networkCapMs : this.opts.rejectedCapMs;
    const exp = Math.min(cap, this.opts.baseMs * 2 ** this.attempts);
    this.attempts++;
    const rnd = this.opts.random ?? Math.random;
    const jittered = exp * (1 + this.opts.jitter * (2 * rnd() - 1));
    const floor = retryAfterSeconds && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : 0;
    return Math.round(Math.max(floor, jittered));
  }
}
