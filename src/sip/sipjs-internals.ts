// The sip.js internals we still use (private or protected members, no public path), in one place.
// sip.js is pinned; each accessor checks its assumption before use, and assertSipJsInternals()
// checks them all when a Phone starts, so a sip.js that moved fails loudly, naming its version,
// instead of silently losing a workaround. docs/ARCHITECTURE.md lists each one and why.

import fs from "fs";
import { Core, Invitation, type InviterOptions, version as exportedVersion } from "sip.js";

/** The sip.js version these accessors were written against. */
export const SIPJS_EXPECTED_VERSION = "0.21.2";

/** The installed sip.js version (its package.json; sip.js's exported constant lags behind). */
export function sipJsVersion(): string {
  try {
    const v = (JSON.parse(fs.readFileSync(require.resolve("sip.js/package.json"), "utf8")) as { version?: unknown }).version;
    if (typeof v === "string") return v;
  } catch {
    /* not resolvable: use the exported constant */
  }
  return String(exportedVersion);
}

/** Thrown when an internal we rely on is missing or changed. */
export class SipJsInternalsError extends Error {
  constructor(
    readonly piece: string,
    readonly version = sipJsVersion(),
  ) {
    super(
      `sip.js ${version}: ${piece} is missing or has changed (written against sip.js ${SIPJS_EXPECTED_VERSION}); pin sip.js to ${SIPJS_EXPECTED_VERSION}`,
    );
    this.name = "SipJsInternalsError";
  }
}

type Fn = (...args: never[]) => unknown;
const isFunction = (v: unknown): v is Fn => typeof v === "function";
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** Throws a SipJsInternalsError naming `piece` unless `holder[name]` is a function. */
export function requireMethod(holder: unknown, name: string, piece: string): void {
  if (!isObject(holder) && !isFunction(holder)) throw new SipJsInternalsError(piece);
  if (!isFunction((holder as Record<string, unknown>)[name])) throw new SipJsInternalsError(piece);
}

// 1. Protected ClientTransaction.onTransportError: a request sent on a connection that is gone
//    is failed now (RFC 3261 §8.1.3.1, as a 503) instead of after Timer B/F (32 s).

/** Tells a pending client transaction its transport failed. False if it cannot be told. */
export function failClientTransaction(transaction: unknown, error: Error): boolean {
  const tx = transaction as { onTransportError?: unknown } | undefined;
  if (!tx || !isFunction(tx.onTransportError)) return false;
  (tx.onTransportError as (e: Error) => void).call(tx, error);
  return true;
}

// 2. Private Invitation.onAckTimeout: a 200 never ACKed (64·T1) makes sip.js send BYE, which may
//    throw before the session ends; the call records "no ACK" and ends locally if it does.

/**
 * Runs `before` when sip.js gives up waiting for the ACK to our 200, then sip.js's own handling;
 * `onError` if that throws. False (nothing changed) if the Invitation is not as expected.
 */
export function interceptAckTimeout(invitation: Invitation, before: () => void, onError: (err: unknown) => void): boolean {
  const target = invitation as unknown as { onAckTimeout?: unknown };
  const original = target.onAckTimeout;
  if (!isFunction(original)) return false;
  target.onAckTimeout = () => {
    before();
    try {
      original.call(invitation);
    } catch (err) {
      onError(err);
    }
  };
  return true;
}

// 3. Protected Dialog.dialogState.remoteSequenceNumber: sip.js answers an in-dialog request whose
//    CSeq is not above the highest seen 500; a late DTMF INFO is let through once (call-dtmf.ts).

/** Read/write access to one dialog's highest remote CSeq, and its request entry point. */
export interface DialogInternals {
  remoteSequenceNumber(): number | undefined;
  setRemoteSequenceNumber(cseq: number): void;
  /** Replaces this dialog's receiveRequest; the wrapper gets sip.js's original. */
  wrapReceiveRequest(wrapper: (message: Core.IncomingRequestMessage, original: (message: Core.IncomingRequestMessage) => void) => void): void;
}

/** The dialog's internals, or undefined when the dialog does not look like sip.js 0.21's. */
export function dialogInternals(dialog: unknown): DialogInternals | undefined {
  const d = dialog as { receiveRequest?: unknown; dialogState?: unknown } | undefined;
  if (!d || !isFunction(d.receiveRequest) || !isObject(d.dialogState)) return undefined;
  const state = d.dialogState as { remoteSequenceNumber?: number };
  return {
    remoteSequenceNumber: () => state.remoteSequenceNumber,
    setRemoteSequenceNumber: (cseq) => {
      state.remoteSequenceNumber = cseq;
    },
    wrapReceiveRequest: (wrapper) => {
      const original = d.receiveRequest as (message: Core.IncomingRequestMessage) => void;
      d.receiveRequest = function (this: unknown, message: Core.IncomingRequestMessage): void {
        wrapper(message, (m) => original.call(this, m));
      };
    },
  };
}

/**
 * Checks every internal above on the installed sip.js (prototypes, and a stand-in dialog for
 * the protected state). Throws a SipJsInternalsError naming the version and the missing piece.
 */
export function assertSipJsInternals(lib: { Core: typeof Core; Invitation: typeof Invitation } = { Core, Invitation }): void {
  requireMethod(lib.Core?.NonInviteClientTransaction?.prototype, "onTransportError", "NonInviteClientTransaction.onTransportError");
  requireMethod(lib.Core?.InviteClientTransaction?.prototype, "onTransportError", "InviteClientTransaction.onTransportError");
  requireMethod(lib.Invitation?.prototype, "onAckTimeout", "Invitation.onAckTimeout");
  const dialogProto = lib.Core?.Dialog?.prototype;
  requireMethod(dialogProto, "receiveRequest", "Dialog.receiveRequest");
  // The protected state is an instance field: check that sip.js's own getter reads it where we do.
  let seen: unknown;
  try {
    const probe = Object.create(dialogProto) as { dialogState: unknown; remoteSequenceNumber?: unknown };
    probe.dialogState = { remoteSequenceNumber: 4242 };
    seen = probe.remoteSequenceNumber;
  } catch {
    seen = undefined;
  }
  if (seen !== 4242) throw new SipJsInternalsError("Dialog.dialogState.remoteSequenceNumber");
}

/**
 * Inviter params that give the INVITE a Call-ID of our choice. sip.js answers 482 to an INVITE
 * without To tag whose Call-ID starts with its own sipjsId ("a request from ourself"), so the
 * doctor's call to its own account through a proxy (which keeps the Call-ID) needs another one.
 * sip.js's message options take `callId`; the InviterOptions.params type leaves it out.
 */
export function inviterParamsWithCallId(callId: string): InviterOptions["params"] {
  return { callId } as InviterOptions["params"];
}
