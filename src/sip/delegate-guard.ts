// sip.js calls the user agent's delegate (onInvite, onMessage, …) from its receive path,
// onInvite even inside a promise chain without a catch: an exception there is an
// unhandled rejection, which ends a Node.js process. Every delegate function is wrapped
// here: an exception or rejection is reported, and the request it carried is answered
// 500 so the caller is not left waiting.

import { RateLimitedLog } from "./rate-limited-log";

type AnyFn = (...args: unknown[]) => unknown;

interface Rejectable {
  reject?(options?: { statusCode?: number }): unknown;
}

/** Wraps every function of a sip.js delegate object; `log` gets one line per failure, rate limited. */
export function guardDelegate<T extends object>(delegate: T | undefined, log: (text: string) => void): T | undefined {
  if (!delegate) return delegate;
  const limited = new RateLimitedLog(log);
  const report = (name: string, err: unknown) =>
    limited.log(`failed to handle an incoming request (${name}): ${(err as Error)?.message ?? String(err)}`);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(delegate)) {
    if (typeof value !== "function") {
      out[name] = value;
      continue;
    }
    const fn = value as AnyFn;
    out[name] = (...args: unknown[]) => {
      const fail = (err: unknown) => {
        try {
          report(name, err);
        } catch {
          /* reporting must not throw */
        }
        refuse(args[0]);
      };
      try {
        const result = fn.apply(delegate, args);
        // A rejected promise is handled here and resolves to undefined for whoever awaits it.
        if (result && typeof (result as Promise<unknown>).then === "function") return (result as Promise<unknown>).then(undefined, fail);
        return result;
      } catch (err) {
        fail(err);
        return undefined;
      }
    };
  }
  return out as T;
}

/** Answers 500 to the request a failed delegate was handling, if it can still be answered. */
function refuse(request: unknown): void {
  const r = request as Rejectable | undefined;
  if (!r || typeof r.reject !== "function") return;
  try {
    const p = r.reject({ statusCode: 500 });
    if (p && typeof (p as Promise<unknown>).then === "function") (p as Promise<unknown>).then(undefined, () => undefined);
  } catch {
    /* already answered, or terminated */
  }
}
