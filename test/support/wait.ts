// Small waiting helpers. Every timer they create is cleared before they
// settle, so they never keep mocha's event loop alive.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  /** Poll interval in ms (default 50). */
  interval?: number;
}

/**
 * Polls `predicate` until it returns a truthy value (which is resolved) or
 * `timeoutMs` passes (then rejects with "timed out waiting for <what>").
 * A predicate that throws is treated as "not yet"; its last error is quoted
 * in the timeout message.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
  opts: WaitOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const interval = opts.interval ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as Exclude<T, false | null | undefined | 0 | "">;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

/** Rejects with "timed out ... <what>" if `p` does not settle within `timeoutMs`. */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what = "operation"): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
