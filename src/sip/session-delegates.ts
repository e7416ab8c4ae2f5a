// One composition point for a sip.js session's delegate. sip.js takes a single `session.delegate`
// object; the call (BYE, REFER), its DTMF (INFO) and the media handler (ACK) each need a hook.
// Each registers here, in any order, instead of overwriting the delegate with a spread copy.
//
// sip.js looks at whether a handler exists (no onRefer: it follows the REFER itself; no onInfo:
// it rejects the INFO), so the shared delegate carries a method only once someone registered it.

import type { SessionDelegate } from "sip.js";

type Hook = keyof SessionDelegate;
type Handler<K extends Hook> = NonNullable<SessionDelegate[K]>;

/**
 * Notifications: any number of handlers, run in the order they were added. The other hooks
 * answer a request (BYE, INFO, MESSAGE, NOTIFY, REFER): one handler each, a second one is a bug.
 */
const OBSERVERS: ReadonlySet<Hook> = new Set<Hook>(["onAck", "onCancel", "onInvite"]);

interface Holder {
  delegate?: SessionDelegate;
}

class SessionDelegates {
  private readonly handlers = new Map<Hook, Array<(...args: never[]) => void>>();
  readonly delegate: SessionDelegate = {};

  add<K extends Hook>(hook: K, handler: Handler<K>): void {
    const list = this.handlers.get(hook) ?? [];
    if (list.length > 0 && !OBSERVERS.has(hook)) throw new Error(`session delegate ${hook} is already taken`);
    list.push(handler);
    if (!this.handlers.has(hook)) {
      this.handlers.set(hook, list);
      (this.delegate as Record<Hook, unknown>)[hook] = (...args: never[]) => this.run(list, args);
    }
  }

  /** Every handler runs; the first error is rethrown afterwards (sip.js sees it as before). */
  private run(list: ReadonlyArray<(...args: never[]) => void>, args: never[]): void {
    let failure: { error: unknown } | undefined;
    for (const fn of [...list]) {
      try {
        fn(...args);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

const registries = new WeakMap<object, SessionDelegates>();

/**
 * Adds `handler` for `hook` on this session's delegate. A delegate set earlier by someone else is
 * kept: its handlers run first.
 */
export function addSessionDelegate<K extends Hook>(session: Holder, hook: K, handler: Handler<K>): void {
  let registry = registries.get(session);
  if (!registry || session.delegate !== registry.delegate) {
    const foreign = session.delegate;
    registry = new SessionDelegates();
    registries.set(session, registry);
    if (foreign) {
      for (const key of Object.keys(foreign) as Hook[]) {
        if (typeof foreign[key] === "function") registry.add(key, foreign[key].bind(foreign));
      }
    }
    session.delegate = registry.delegate;
  }
  registry.add(hook, handler);
}
