// Blind call transfer (RFC 3515 REFER, RFC 5589 §6): we ask the peer to call a target and follow its
// progress (NOTIFY message/sipfrag), or the peer asks us and we follow only an allowed target.
// A REFER makes the transferee place a call, at its expense: incoming ones are refused unless the
// user allows transfers, and then only to targets on an allow-list (the caller-match pattern syntax).

import { Referral, Session, SessionState, UserAgent } from "sip.js";
import type { Core } from "sip.js";
import { systemClock, type Clock } from "../clock";
import type { CallInfo } from "../types";
import { patternMatches } from "./caller-match";
import { safeDecodeURIComponent } from "../sip/safe-decode";
import { buildSipfrag, parseSipfrag, parseSubscriptionState } from "../sip/sipfrag";
import type { Call } from "./call";

/** RFC 3261 Timer T1 (ms). */
const T1_MS = 500;
/**
 * Longest we wait for the final outcome of a transfer we asked for (a final sipfrag, or the REFER's
 * refusal): the target may ring a while before the transferee gives up. Then "failed", the call stays.
 */
export const TRANSFER_TIMEOUT_MS = 120_000;
/** NOTIFYs of one transfer reported at most (each is still answered 200); a flood is not forwarded. */
export const MAX_TRANSFER_NOTIFIES = 20;
/** REFERs one call may send us; the next ones are refused 403 (each one would place a call). */
export const MAX_REFERS_PER_CALL = 3;
/** Longest Refer-To we look at; a longer one is refused 400. */
export const REFER_TO_MAX_CHARS = 512;
/**
 * After our final NOTIFY (the new call was answered) we end the transferred call once the NOTIFY
 * is answered, or after this long at the latest (the transferor usually hangs up itself).
 */
export const TRANSFER_HANGUP_WAIT_MS = 4 * T1_MS;
/** Expiry we announce for the implicit subscription while the new call is under way (RFC 6665). */
const NOTIFY_EXPIRES_S = 60;
/** Longest target or reason text put in an event (remote-controlled). */
const TEXT_MAX = 120;

/** Where a transfer is. "refused": an incoming REFER we did not follow. */
export type TransferState = "requested" | "accepted" | "trying" | "ringing" | "succeeded" | "failed" | "refused";

/** msg.transfer: one step of a transfer. */
export interface TransferEvent {
  /** "outbound": we transfer the peer (topic "transfer"); "inbound": the peer asks us to call the target. */
  direction: "outbound" | "inbound";
  state: TransferState;
  /** The target's SIP URI (as sent or received, printable ASCII, shortened). */
  target: string;
  /** The SIP status behind this step: the REFER's answer, the sipfrag's code, the new call's final. */
  status?: number;
  reason?: string;
  /** Inbound: the id of the call we placed to the target. */
  newCall?: string;
}

export interface TransferHandle {
  readonly target: string;
  /** Settles with the last event: "succeeded" (the call is being ended) or "failed" (it stays). Never rejects. */
  readonly outcome: Promise<TransferEvent>;
}

function clean(text: string | undefined, max = TEXT_MAX): string {
  const s = (text ?? "").replace(/[^\x20-\x7e]/g, "?");
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

// ---- we transfer the peer ----

export interface OutgoingTransferOptions {
  /** Default TRANSFER_TIMEOUT_MS. */
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * One blind transfer of an answered call: REFER to `target`, then the NOTIFYs. Reports every step;
 * on success ends the call (BYE, reason "transferred"). A refused REFER, a failing sipfrag, the
 * subscription ending without an outcome, no outcome in time, or the call ending: "failed".
 */
export class OutgoingTransfer implements TransferHandle {
  readonly target: string;
  readonly outcome: Promise<TransferEvent>;
  private resolve!: (e: TransferEvent) => void;
  private done = false;
  private last?: TransferState;
  private notifies = 0;
  private timer: unknown;
  private readonly clock: Clock;
  private readonly onCallState = (s: string) => {
    if (s === "ENDED") this.finish("failed", { reason: "the call ended before the outcome was known" });
  };

  constructor(
    private readonly call: Call,
    private readonly uri: Core.URI,
    private readonly report: (e: TransferEvent, call: CallInfo) => void,
    options: OutgoingTransferOptions = {},
  ) {
    this.target = clean(uri.toString());
    this.clock = options.clock ?? systemClock;
    this.outcome = new Promise((r) => (this.resolve = r));
    const timeoutMs = options.timeoutMs ?? TRANSFER_TIMEOUT_MS;
    this.timer = this.clock.setTimeout(() => this.finish("failed", { reason: `no outcome within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
    call.on("state", this.onCallState);
  }

  get active(): boolean {
    return !this.done;
  }

  /** Sends the REFER. */
  start(): void {
    this.step("requested", {});
    let sent: Promise<unknown>;
    try {
      sent = this.call.session.refer(this.uri, {
        requestDelegate: {
          onAccept: (r) => this.step("accepted", { status: r.message.statusCode }),
          onReject: (r) => {
            const synthetic = !r.message.callId;
            const code = r.message.statusCode;
            this.finish("failed", {
              status: synthetic ? undefined : code,
              reason: synthetic ? (code === 408 ? "no answer to the REFER" : "REFER not sent") : clean(r.message.reasonPhrase, 60),
            });
          },
        },
        onNotify: (n) => this.onNotify(n),
      });
    } catch (err) {
      sent = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    sent.catch((err: unknown) => this.finish("failed", { reason: clean(err instanceof Error ? err.message : "REFER not sent", 60) }));
  }

  private onNotify(n: { request: Core.IncomingRequestMessage; accept(): Promise<void> }): void {
    try {
      n.accept().catch(() => undefined);
    } catch {
      /* transaction gone: nothing to answer */
    }
    if (this.done || ++this.notifies > MAX_TRANSFER_NOTIFIES) return;
    let event = "";
    let sub = parseSubscriptionState(undefined);
    let frag: ReturnType<typeof parseSipfrag>;
    try {
      event = (n.request.getHeader("event") ?? "").trim().toLowerCase();
      sub = parseSubscriptionState(n.request.getHeader("subscription-state"));
      frag = /^message\/sipfrag/i.test(n.request.getHeader("content-type") ?? "") ? parseSipfrag(n.request.body) : undefined;
    } catch {
      frag = undefined;
    }
    // Event "refer" (with an id parameter when several REFERs share the dialog).
    if (!/^refer\b/.test(event)) return;
    if (frag) {
      const { statusCode: status, reason } = frag;
      if (status >= 300) return this.finish("failed", { status, reason });
      if (status >= 200) return this.finish("succeeded", { status, reason });
      if (sub.state !== "terminated") return this.step(status === 180 || status === 183 ? "ringing" : "trying", { status, reason });
    }
    if (sub.state === "terminated")
      this.finish("failed", { reason: `the transferee ended the report without an outcome${sub.reason ? ` (${sub.reason})` : ""}` });
  }

  private step(state: TransferState, detail: { status?: number; reason?: string }): void {
    if (this.done || state === this.last) return;
    this.last = state;
    this.emit(state, detail);
  }

  private emit(state: TransferState, detail: { status?: number; reason?: string }): TransferEvent {
    const e: TransferEvent = { direction: "outbound", state, target: this.target };
    if (detail.status) e.status = detail.status;
    if (detail.reason) e.reason = detail.reason;
    try {
      this.report(e, this.call.snapshot());
    } catch {
      /* a listener's failure is not the transfer's */
    }
    return e;
  }

  private finish(state: "succeeded" | "failed", detail: { status?: number; reason?: string }): void {
    if (this.done) return;
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.call.off("state", this.onCallState);
    const e = this.emit(state, detail);
    if (state === "succeeded") void this.call.hangup({ reason: "transferred" }).catch(() => undefined);
    this.resolve(e);
  }
}

// ---- the peer transfers us ----

/** An allowed Refer-To target: the URI we dial (no parameters, no headers). */
export interface ReferTarget {
  uri: string;
  /** The user part, decoded (what number patterns match). */
  number: string;
  host: string;
}
export interface ReferRefusal {
  statusCode: number;
  reason: string;
}

export function isReferRefusal(r: ReferTarget | ReferRefusal): r is ReferRefusal {
  return "statusCode" in r;
}

/** The URI inside a Refer-To value ("<sip:...>;params" or a bare URI), or undefined. */
function referToUri(value: string): string | undefined {
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    return gt > lt ? value.slice(lt + 1, gt).trim() : undefined;
  }
  // addr-spec without <>: no URI parameters or headers can be told from header parameters.
  return value.split(";")[0].trim();
}

/** `pattern` with * and ? against "user@host" (case-insensitive, whole text). */
function globMatches(pattern: string, text: string): boolean {
  const re = pattern
    .trim()
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(text);
}

/**
 * Decides whether an incoming Refer-To may be followed. Refused: unparsable or too long (400), a
 * scheme other than sip/sips, embedded headers (?Replaces=, ?Require=...: attended transfer or
 * headers we would have to put into our INVITE) or a method other than INVITE (403), a target
 * that matches no pattern of `allowList` (403). A pattern with "@" matches "user@host" (e.g.
 * "*@pbx.example.com"); one without matches the number (caller-match syntax: "+4930*", "1??"),
 * and then only at one of `localHosts` (the account's domain and server), never at a foreign server.
 */
export function checkReferTo(rawValue: unknown, allowList: readonly string[], localHosts: readonly string[]): ReferTarget | ReferRefusal {
  if (typeof rawValue !== "string" || !rawValue.trim()) return { statusCode: 400, reason: "no Refer-To" };
  if (rawValue.length > REFER_TO_MAX_CHARS) return { statusCode: 400, reason: "Refer-To too long" };
  if (/[^\x20-\x7e\t]/.test(rawValue)) return { statusCode: 400, reason: "Refer-To not printable" };
  const inner = referToUri(rawValue);
  if (!inner) return { statusCode: 400, reason: "Refer-To unparsable" };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(inner)?.[1]?.toLowerCase();
  if (scheme !== "sip" && scheme !== "sips")
    return { statusCode: 403, reason: `Refer-To scheme ${scheme ? clean(scheme, 10) : "missing"} not allowed` };
  if (inner.includes("?")) return { statusCode: 403, reason: "Refer-To with embedded headers not allowed" };
  const method = /;\s*method\s*=\s*([^;]*)/i.exec(inner)?.[1]?.trim().toUpperCase();
  if (method && method !== "INVITE") return { statusCode: 403, reason: "Refer-To method not allowed" };
  const parsed = UserAgent.makeURI(inner);
  if (!parsed) return { statusCode: 400, reason: "Refer-To unparsable" };
  const host = String(parsed.host ?? "").toLowerCase();
  const user = parsed.user ?? "";
  const number = safeDecodeURIComponent(user);
  if (!host) return { statusCode: 400, reason: "Refer-To without host" };
  const hostPort = parsed.port ? `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${parsed.port}` : host;
  const local = localHosts.some((h) => h.trim().toLowerCase() === host);
  const allowed = allowList.some((p) => (p.includes("@") ? globMatches(p, `${number}@${host}`) : local && !!number && patternMatches(p, number)));
  if (!allowed) return { statusCode: 403, reason: "transfer target not allowed" };
  const uri = `${scheme}:${user ? `${user}@` : ""}${hostPort}`;
  return { uri, number, host };
}

/**
 * Sends the NOTIFYs of a REFER we accepted (RFC 3515 §2.4.4): sipfrag with the new call's status;
 * the final one ends the implicit subscription. Never throws; `onAnswered` runs once the final
 * NOTIFY is answered (or cannot be sent).
 */
export function sendReferNotify(session: Session, statusCode: number, reason: string, final: boolean, onAnswered?: () => void): void {
  const answered = () => {
    try {
      onAnswered?.();
    } catch {
      /* the caller's */
    }
  };
  const dialog = session.dialog;
  if (!dialog || session.state !== SessionState.Established) return answered();
  try {
    const state = final ? "terminated;reason=noresource" : `active;expires=${NOTIFY_EXPIRES_S}`;
    const req = dialog.notify(undefined, {
      extraHeaders: ["Event: refer", `Subscription-State: ${state}`],
      body: { contentDisposition: "render", contentType: "message/sipfrag;version=2.0", content: buildSipfrag(statusCode, reason) },
    });
    req.delegate = { onAccept: answered, onReject: answered };
  } catch {
    answered();
  }
}

/** Accepts a REFER (202); false when the answer could not be sent. */
export function acceptReferral(referral: Referral): boolean {
  try {
    referral.accept({ statusCode: 202 }).catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}
