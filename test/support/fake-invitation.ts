// A stand-in for sip.js's Invitation (an incoming INVITE) for unit tests of the call layer: the
// properties the call layer reads, state changes it can listen to, and what was done with it.
import { Invitation, SessionState } from "sip.js";

export interface FakeInvitationOptions {
  /** dispose() ends the session (Terminated), as a hang-up of an unanswered call does; default true. */
  disposeEnds?: boolean;
  /** Make it an `instanceof Invitation` (code that tells incoming from outgoing sessions apart). */
  asInvitation?: boolean;
}

export function fakeInvitation(user = "bob", opts: FakeInvitationOptions = {}) {
  const listeners: Array<(s: SessionState) => void> = [];
  const fire = (s: SessionState) => {
    inv.state = s;
    listeners.forEach((fn) => fn(s));
  };
  const inv = {
    /** Status codes of progress() calls (undefined: sip.js's default 180). */
    progressed: [] as Array<number | undefined>,
    /** Status codes of reject() calls (0: sip.js's default). */
    rejectedWith: [] as number[],
    get rejected(): number {
      return inv.rejectedWith.length;
    },
    request: { body: undefined, getHeader: () => undefined, getHeaders: () => [] },
    remoteIdentity: { uri: { user, toString: () => `sip:${user}@127.0.0.1` }, displayName: "" },
    localIdentity: { uri: { user: "alice", toString: () => "sip:alice@127.0.0.1" }, displayName: "" },
    state: SessionState.Initial,
    delegate: undefined as unknown,
    stateChange: { addListener: (fn: (s: SessionState) => void) => listeners.push(fn) },
    progress: (o?: { statusCode?: number }) => {
      inv.progressed.push(o?.statusCode);
      return Promise.resolve();
    },
    reject: (o?: { statusCode?: number }) => {
      inv.rejectedWith.push(o?.statusCode ?? 0);
      fire(SessionState.Terminated);
      return Promise.resolve();
    },
    dispose: () => {
      if (opts.disposeEnds !== false) fire(SessionState.Terminated);
      return Promise.resolve();
    },
    fire,
  };
  if (opts.asInvitation) Object.setPrototypeOf(inv, Invitation.prototype);
  return inv;
}
