// Every call of one account: incoming policy (limits, caller filter, codec check,
// auto-answer and greeting), dialing out, and the events the nodes turn into messages.

import { EventEmitter } from "events";
import crypto from "crypto";
import { inviterParamsWithCallId } from "../sip/sipjs-internals";
import { Invitation, Inviter, UserAgent, Core, type Referral } from "sip.js";
import { precheckOffer, RtpSessionDescriptionHandler } from "../media/session-description-handler";
import type { SrtpPolicy } from "../media/srtp-policy";
import type { Codec, CallInfo, CallParty, CallState } from "../types";
import { SIMULATED_CALL_MAX_MS, SIMULATED_CALLS_MAX, SimulatedSession } from "./simulated-call";
import { Call, printable, REFER_TO_LOG_MAX } from "./call";
import { callerParty, Greeting, isCallerAllowed, matchedRule, matchGreeting, partyFromUri } from "./caller-match";
import type { RuleContext } from "./time-rules";
import { PlaybackItem, silence } from "./playback-queue";
import { decodeFrame as decodeG711 } from "../media/g711";
import { SipTransport } from "../sip/sip-transport";
import { headerName, headerValue, type WireMessage } from "../sip/wire-message";
import { isRingbackPlan, RingbackSource, type RingbackPlan } from "../media/ringback";
import {
  acceptReferral,
  checkReferTo,
  isReferRefusal,
  MAX_REFERS_PER_CALL,
  OutgoingTransfer,
  sendReferNotify,
  TRANSFER_HANGUP_WAIT_MS,
  type ReferTarget,
  type TransferEvent,
  type TransferHandle,
} from "./transfer";

type IncomingResponse = Core.IncomingResponse;

/** Refused-REFER warnings logged per REFER_LOG_WINDOW_MS; the rest are counted and summarised. */
export const REFER_LOG_MAX = 5;
export const REFER_LOG_WINDOW_MS = 60_000;

type SpeechRequest = { text: string; language?: string; engine?: string; voice?: string };
type SayRequestOptions = { language?: string; interrupt?: boolean; engine?: string; voice?: string };
type PlayRequestOptions = { interrupt?: boolean; format?: "wav" | "pcmu" | "pcma" };

export interface Speaker {
  synthesize(req: SpeechRequest): Promise<Int16Array>;
  /** The same audio in pieces, the first as soon as it is made (SpeechService.stream). */
  stream?(req: SpeechRequest): AsyncGenerator<Int16Array>;
  loadAudio(src: Buffer | string): Promise<Int16Array>;
}

export type AfterGreeting = "hangup" | "stay" | "repeat";

export interface InboundPolicy {
  autoAnswer: boolean;
  answerDelaySeconds?: number;
  filterMode?: "off" | "allow" | "block";
  filterList?: string[];
  greetings?: Greeting[];
  afterGreeting?: AfterGreeting;
  /** Follow a peer's REFER (call transfer) whose target matches transferAllowList; off: every REFER gets 603. */
  allowTransfer?: boolean;
  /** Targets a REFER may send us to (see checkReferTo in transfer.ts); empty: none. */
  transferAllowList?: string[];
  /** Answer every incoming call with 183 Session Progress + SDP at once (early media: say/play before answering). */
  earlyMedia?: boolean;
  /** With autoAnswer and an answer delay: 183 + SDP at once and this ringback tone until the answer ("off" = none). */
  ringback?: RingbackPlan | "off";
  /** Time, time zone and mode for the greeting rows' conditions (default: now, the system's zone, no mode). */
  ruleContext?: () => RuleContext;
}

/**
 * Longest early media phase of an incoming call (183 sent, not answered): then it is rejected
 * 480 (outcome "no-answer", reason "early media time limit"). Under sip.js's no-answer timeout
 * (120 s, phone.ts) and a proxy's Timer C (> 3 min), which a 183 does not refresh.
 */
export const EARLY_MEDIA_MAX_SECONDS = 90;

/**
 * Limits of the calls one flow node handles. Several nodes may share an account, each with its
 * own limits; which apply to a call is fixed when the call starts:
 * - an incoming call: the limits of the node that claimed inbound handling (claimInboundPolicy),
 *   or the account's (CallManagerOptions, configure()) when no node has claimed;
 * - a call we dial: the limits given with dial() (the dialing node's), or the account's.
 * maxCalls counts every active call of the account (they share its RTP ports and speech engine).
 * A field left undefined falls back to the account's value.
 */
export interface CallLimits {
  /** Simultaneous calls on the account at most (default DEFAULT_MAX_CALLS). */
  maxCalls?: number;
  /** An answered call is hung up after this long; 0 or undefined = never. */
  maxDurationSeconds?: number;
  /** An outgoing call rings this long before it ends as no-answer (default DEFAULT_RING_TIMEOUT_SECONDS). */
  ringTimeoutSeconds?: number;
}

/** Simultaneous calls per account when nobody sets a limit. */
export const DEFAULT_MAX_CALLS = 4;
/** Ring time of an outgoing call when nobody sets one (s). */
export const DEFAULT_RING_TIMEOUT_SECONDS = 30;

export interface CallManagerOptions extends CallLimits {
  userAgent: UserAgent;
  /** AOR domain, for dialing plain numbers. */
  domain: string;
  codecs: Codec[];
  speech: Speaker;
  defaultLanguage?: string;
  /** Bound for a hang-up before the call is ended locally (tests shorten it); default CALL_END_TIMEOUT_MS. */
  endTimeoutMs?: number;
  /** Bound of an incoming call's early media phase (tests shorten it); default EARLY_MEDIA_MAX_SECONDS. */
  earlyMediaMaxMs?: number;
  /** Bound of a simulated call (tests shorten it); default SIMULATED_CALL_MAX_MS. */
  simulatedCallMaxMs?: number;
  /** SRTP policy of an incoming call, for the 488 pre-check (see RtpSdhOptions.srtp); default off. */
  srtp?: (session: Invitation) => SrtpPolicy;
}

export interface DialOptions {
  message?: string;
  language?: string;
  /** This call only; before limits.ringTimeoutSeconds. */
  ringTimeoutSeconds?: number;
  /** The dialing node's limits (see CallLimits); the account's where undefined. */
  limits?: CallLimits;
  /** The escalation this call belongs to (msg.call.alertId). */
  alertId?: string;
  /** A Call-ID of our own (the doctor's call to its own account; see inviterParamsWithCallId). */
  callId?: string;
}

/** Who handles incoming calls: one flow node, with its policy and its limits. */
interface InboundClaim {
  owner: string;
  policy: InboundPolicy;
  limits: CallLimits;
}

export interface CallManagerEvents {
  call: [state: CallState, call: CallInfo];
  playback: [what: "started" | "finished", call: CallInfo, label: string, interrupted: boolean];
  /** A step of a call transfer, ours (topic "transfer") or the peer's (REFER). */
  transfer: [event: TransferEvent, call: CallInfo];
  /** A call was created (before its first state event), for layers that attach per-call logic (DTMF). */
  created: [call: Call];
  log: [level: "debug" | "info" | "warn" | "error", text: string];
}

export class CallManager extends EventEmitter<CallManagerEvents> {
  private readonly calls = new Map<string, Call>();
  private readonly bySession = new WeakMap<object, Call>();
  /** The account's own policy, used while no flow node has claimed inbound handling. */
  private policy: InboundPolicy = { autoAnswer: true };
  private claim?: InboundClaim;
  /** The account's limits (options, then configure()). */
  private readonly accountLimits: CallLimits;
  private closed = false;
  private referLog = { windowStart: 0, logged: 0, suppressed: 0 };
  /** Outbound calls still DIALING, by Call-ID (at most maxCalls), for RINGING seen on the wire. */
  private readonly dialing = new Map<string, Call>();
  private readonly wire?: SipTransport;
  /** Our transfer in progress, per call (one at a time). */
  /** The last say/play asked for, per call: the next one is queued after it. */
  private readonly audioOrder = new WeakMap<Call, Promise<unknown>>();
  private readonly transfers = new WeakMap<Call, OutgoingTransfer>();
  /** REFERs received per call (bounded by MAX_REFERS_PER_CALL), and the calls whose REFER we follow now. */
  private readonly refersReceived = new WeakMap<Call, number>();
  private readonly following = new WeakSet<Call>();
  /** Incoming calls with early media: the 183 being sent (answer() waits for it). */
  private readonly early = new WeakMap<Call, Promise<void>>();
  private readonly ringing = new WeakSet<Call>();

  constructor(private readonly opts: CallManagerOptions) {
    super();
    this.accountLimits = { maxCalls: opts.maxCalls, maxDurationSeconds: opts.maxDurationSeconds, ringTimeoutSeconds: opts.ringTimeoutSeconds };
    const transport: unknown = opts.userAgent.transport;
    if (transport instanceof SipTransport) {
      this.wire = transport;
      transport.events.on("response", this.onWireResponse);
    }
  }

  /**
   * RINGING from the wire: sip.js drops a 180/183 without Contact (Linphone sends such a 180)
   * or without To tag, and the call would go DIALING → ANSWERED. Liberal in what we accept, we
   * only report it: no early dialog is made from it (a made-up Contact would become the remote
   * target of the confirmed dialog, see sip.js recomputeRouteSet, so ACK and BYE would go astray).
   */
  private readonly onWireResponse = (msg: WireMessage): void => {
    if (msg.cseqMethod !== "INVITE" || (msg.statusCode !== 180 && msg.statusCode !== 183)) return;
    const call = this.dialing.get(msg.callId);
    if (!call) return;
    // Early media: the callee's answer in the 18x. sip.js (earlyMedia off, so a forked INVITE still
    // works) applies only the 2xx's answer; we start the media now and report it.
    if (msg.toTag && hasSdp(msg) && call.sdh?.applyEarlyAnswer(msg.body)) call.markEarlyMedia();
    else if (call.state === "DIALING") call.setState("RINGING");
  };

  /** The account's own policy (for library use); a flow node's claim takes precedence while it holds. */
  setInboundPolicy(policy: InboundPolicy): void {
    this.policy = policy;
  }

  /**
   * Several flow nodes may share an account: the first to claim decides how incoming calls are
   * handled, and its limits apply to them. Claiming again as the owner updates policy and limits.
   */
  claimInboundPolicy(owner: string, policy: InboundPolicy, limits: CallLimits = {}): boolean {
    if (this.claim && this.claim.owner !== owner) return false;
    this.claim = { owner, policy, limits: { ...limits } };
    return true;
  }

  releaseInboundPolicy(owner: string): void {
    if (this.claim?.owner !== owner) return;
    this.claim = undefined;
  }

  /** The account's limits, used where a call has none of its own (see CallLimits). */
  configure(limits: CallLimits): void {
    if (limits.maxCalls !== undefined) this.accountLimits.maxCalls = limits.maxCalls;
    if (limits.maxDurationSeconds !== undefined) this.accountLimits.maxDurationSeconds = limits.maxDurationSeconds;
    if (limits.ringTimeoutSeconds !== undefined) this.accountLimits.ringTimeoutSeconds = limits.ringTimeoutSeconds;
  }

  /** A node's limits over the account's, field by field. */
  private limitsOf(own: CallLimits | undefined): CallLimits {
    const a = this.accountLimits;
    return {
      maxCalls: own?.maxCalls ?? a.maxCalls,
      maxDurationSeconds: own?.maxDurationSeconds ?? a.maxDurationSeconds,
      ringTimeoutSeconds: own?.ringTimeoutSeconds ?? a.ringTimeoutSeconds,
    };
  }

  list(): Call[] {
    return [...this.calls.values()].filter((c) => c.active);
  }
  get(id: string): Call | undefined {
    return this.calls.get(id);
  }

  /** The SDH factory hook: sip.js created a media handler for one of our sessions. */
  onMediaHandler(sdh: RtpSessionDescriptionHandler): void {
    const call = sdh.session ? this.bySession.get(sdh.session) : undefined;
    call?.attachMedia(sdh);
  }

  /** The user agent's onInvite delegate; `own` replaces the claim's policy and limits (the doctor's test call). */
  onInvite(invitation: Invitation, own?: { policy: InboundPolicy; limits?: CallLimits }): void {
    const req = invitation.request;
    const from = callerParty(invitation.remoteIdentity.uri, invitation.remoteIdentity.displayName, (name) => req.getHeaders(name));
    const to = partyFromUri(invitation.localIdentity.uri, invitation.localIdentity.displayName);
    const refuse = this.refuser(from, to, (statusCode) => void invitation.reject({ statusCode }).catch(() => undefined));
    if (this.closed) return refuse(503, "rejected", "shutting down");
    // Policy and limits as they are now: a later claim or release does not change this call.
    const policy = own?.policy ?? this.claim?.policy ?? this.policy;
    const limits = this.limitsOf(own ? own.limits : this.claim?.limits);
    if (this.list().length >= (limits.maxCalls ?? DEFAULT_MAX_CALLS)) return refuse(486, "rejected", "maximum number of calls reached");
    // sip.js would turn a media failure into 480; a clear 488 needs the offer checked first.
    if (req.body && /application\/sdp/i.test(req.getHeader("content-type") ?? "")) {
      const check = precheckOffer(req.body, this.opts.codecs, this.opts.srtp?.(invitation));
      // SRTP refusals say why (keys only over TLS, SRTP mandatory); the detail holds no key.
      if (!check.ok) return refuse(488, "codec-mismatch", check.reason.startsWith("srtp") ? `${check.reason}: ${check.detail}` : check.reason);
    }
    this.admit(invitation, from, to, policy, limits, refuse);
  }

  /**
   * A virtual incoming call (the editor's simulator, call/simulated-call.ts): the inbound path of
   * onInvite (limits, caller filter, greeting rows, claim, auto-answer) with no SIP and no RTP, at
   * most SIMULATED_CALLS_MAX at a time, ended after SIMULATED_CALL_MAX_MS. Returns the Call, or the
   * ENDED snapshot of a refused one (also emitted, as for a real call).
   */
  simulate(from: CallParty, to: CallParty): Call | CallInfo {
    const session = new SimulatedSession();
    let refused: CallInfo | undefined;
    const refuse = this.refuser(
      from,
      to,
      () => undefined,
      (info) => (refused = info),
    );
    const policy = this.claim?.policy ?? this.policy;
    const limits = this.limitsOf(this.claim?.limits);
    if (this.closed) refuse(503, "rejected", "shutting down");
    else if (this.list().filter((c) => c.info.simulated).length >= SIMULATED_CALLS_MAX)
      refuse(486, "rejected", `at most ${SIMULATED_CALLS_MAX} simulated calls at a time`);
    else if (this.list().length >= (limits.maxCalls ?? DEFAULT_MAX_CALLS)) refuse(486, "rejected", "maximum number of calls reached");
    else {
      const call = this.admit(session, from, to, policy, limits, refuse);
      if (call) {
        call.after(this.opts.simulatedCallMaxMs ?? SIMULATED_CALL_MAX_MS, () => void call.hangup({ reason: "simulated call time limit" }));
        return call;
      }
    }
    return refused!;
  }

  /** How an incoming call is refused before it exists: the SIP answer, then an ENDED message; `report` (simulated calls) gets it marked simulated. */
  private refuser(from: CallParty, to: CallParty, answer: (statusCode: number) => void, report?: (info: CallInfo) => void) {
    const simulated = !!report;
    return (statusCode: number, outcome: CallInfo["outcome"], reason: string, rule?: CallInfo["rule"]): void => {
      answer(statusCode);
      const now = new Date().toISOString();
      this.emit("log", "info", `refused call from ${from.number || (from.anonymous ? "anonymous" : from.uri)}: ${reason} (${statusCode})`);
      const info: CallInfo = {
        id: crypto.randomUUID(),
        direction: "inbound",
        state: "ENDED",
        from,
        to,
        startedAt: now,
        hold: false,
        endedAt: now,
        outcome,
        reason,
        statusCode,
        ...(rule ? { rule } : {}),
        ...(simulated ? { simulated } : {}),
      };
      report?.(info);
      this.emit("call", "ENDED", info);
    };
  }

  /** The caller filter and greeting rows, then the Call: RINGING, auto-answer, greeting (onInvite and simulate). */
  private admit(
    session: Invitation | SimulatedSession,
    from: CallParty,
    to: CallParty,
    policy: InboundPolicy,
    limits: CallLimits,
    refuse: ReturnType<CallManager["refuser"]>,
  ): Call | undefined {
    if (!isCallerAllowed(policy.filterMode, policy.filterList ?? [], from.number, from.anonymous)) {
      refuse(603, "rejected", "caller not allowed");
      return undefined;
    }
    // The greeting row for this caller, now (time window, mode): it may also refuse the call.
    const ctx = policy.ruleContext?.() ?? { now: Date.now() };
    const match = matchGreeting(policy.greetings, from.number, from.anonymous, ctx);
    const rule = match ? matchedRule(match, ctx) : undefined;
    if (match?.greeting.action === "reject") {
      refuse(603, "rejected", `rejected by rule ${rule!.index}`, rule);
      return undefined;
    }

    const simulated = session instanceof SimulatedSession;
    const options = { endTimeoutMs: this.opts.endTimeoutMs, ...(simulated ? { simulated } : {}) };
    const call = this.track(new Call(session as Invitation, "inbound", from, to, options), limits);
    const delay = Math.max(0, Number(policy.answerDelaySeconds) || 0) * 1000;
    const ringback = policy.autoAnswer && delay > 0 && isRingbackPlan(policy.ringback) ? policy.ringback : undefined;
    const early = policy.earlyMedia === true || !!ringback;
    // Early media from the start: one RINGING message, that says so (the 183 replaces the 180).
    if (early) call.markEarlyMedia(false);
    if (rule) call.info.rule = rule;
    this.emit("call", "RINGING", call.snapshot());
    if (early) this.startEarlyMedia(call, ringback).catch((e: Error) => this.emit("log", "warn", `early media failed: ${e.message}`));
    else session.progress().catch(() => undefined);
    if (policy.autoAnswer) {
      call.after(delay, () => {
        void this.answer(call).catch((e: Error) => this.emit("log", "warn", `answer failed: ${e.message}`));
      });
    }
    const greetOnAnswer = (s: CallState) => {
      if (s !== "ANSWERED") return;
      call.off("state", greetOnAnswer);
      this.greet(call, policy, match?.greeting);
    };
    call.on("state", greetOnAnswer);
    return call;
  }

  /**
   * Early media on a ringing incoming call: 183 Session Progress + SDP (no 200: the caller is not
   * charged), our RTP starts, say/play reach the caller; then answer() (200 with the same SDP) or
   * reject(). With `ringback`, that tone plays while nothing else does. Ends after EARLY_MEDIA_MAX_SECONDS.
   */
  async progress(call: Call, o: { ringback?: RingbackPlan } = {}): Promise<void> {
    if (!isIncoming(call.session)) throw new Error("progress: only incoming calls can have early media");
    if (call.state !== "RINGING") throw new Error(`progress: the call is ${call.state}, not RINGING`);
    await this.startEarlyMedia(call, o.ringback);
    call.markEarlyMedia();
  }

  /** Sends the 183 once per call (later calls only add the ringback) and bounds the early phase. */
  private startEarlyMedia(call: Call, ringback?: RingbackPlan): Promise<void> {
    let sent = this.early.get(call);
    if (!sent) {
      const invitation = call.session as Invitation;
      sent = invitation.progress({ statusCode: 183 }).then(
        () => call.sdh?.rtp?.allowEarlySend(),
        (err: Error) => {
          // sip.js has rejected the call (480): say why it ended.
          call.markEnd({ outcome: "failed", reason: `could not start early media: ${err.message}` });
          throw err;
        },
      );
      this.early.set(call, sent);
      call.after(this.opts.earlyMediaMaxMs ?? EARLY_MEDIA_MAX_SECONDS * 1000, () => {
        if (call.state === "RINGING") void call.hangup({ outcome: "no-answer", reason: "early media time limit", statusCode: 480 });
      });
    }
    if (ringback && !this.ringing.has(call)) {
      this.ringing.add(call);
      // Paused while something is said or played; gone once answered or ended.
      const tone = new RingbackSource(ringback, () => call.playback.playing);
      call.addOverride(tone);
      const stop = (s: CallState) => {
        if (s === "RINGING") return;
        call.removeOverride(tone);
        call.off("state", stop);
      };
      call.on("state", stop);
    }
    return sent;
  }

  async answer(call: Call): Promise<void> {
    if (!isIncoming(call.session)) throw new Error("only incoming calls can be answered");
    // A 183 still on its way (its SDP answer is being made): the 200 repeats it, so wait.
    await this.early.get(call)?.catch(() => undefined);
    if (call.state !== "RINGING") throw new Error(`call is ${call.state}, not RINGING`);
    try {
      await (call.session as Invitation | SimulatedSession).accept();
    } catch (err) {
      // No RTP port free, a media error: sip.js rejects the call; say why it ended.
      call.markEnd({ outcome: "failed", reason: `could not answer: ${(err as Error).message}` });
      throw err;
    }
  }

  async reject(call: Call, statusCode = 486): Promise<void> {
    if (call.state === "ANSWERED") throw new Error("call is already answered: use hangup");
    await call.hangup({ outcome: "rejected", statusCode });
  }

  /** Dials a number (in the account's domain) or a SIP URI. */
  dial(target: string, options: DialOptions = {}): Call {
    if (this.closed) throw new Error("the SIP account is closing");
    const t = String(target ?? "").trim();
    if (!t) throw new Error("nothing to dial: msg.payload must be a number or a SIP URI");
    const limits = this.limitsOf(options.limits);
    if (this.list().length >= (limits.maxCalls ?? DEFAULT_MAX_CALLS)) throw new Error("maximum number of calls reached");
    const uri = this.targetUri(t);
    const ua = this.opts.userAgent;
    const inviter = new Inviter(ua, uri, { earlyMedia: false, ...(options.callId ? { params: inviterParamsWithCallId(options.callId) } : {}) });
    const from = partyFromUri(ua.configuration.uri, ua.configuration.displayName);
    const call = this.track(new Call(inviter, "outbound", from, partyFromUri(uri), { endTimeoutMs: this.opts.endTimeoutMs }), limits);
    if (options.alertId) call.info.alertId = options.alertId;
    const callId = inviter.request.callId;
    this.dialing.set(callId, call);
    // Kept while RINGING: a 183 with SDP may follow a 180.
    call.on("state", (s) => {
      if (s !== "RINGING" && this.dialing.get(callId) === call) this.dialing.delete(callId);
    });
    this.emit("call", "DIALING", call.snapshot());
    const ringMs = (options.ringTimeoutSeconds ?? limits.ringTimeoutSeconds ?? DEFAULT_RING_TIMEOUT_SECONDS) * 1000;
    if (ringMs > 0)
      call.after(ringMs, () => {
        if (call.state !== "ANSWERED") void call.hangup({ outcome: "no-answer", reason: "ring timeout" });
      });
    if (options.message) {
      const speakOnAnswer = (s: CallState) => {
        if (s !== "ANSWERED") return;
        call.off("state", speakOnAnswer);
        this.say(call, options.message!, { language: options.language }).catch((e: Error) =>
          this.emit("log", "warn", `message not played: ${e.message}`),
        );
      };
      call.on("state", speakOnAnswer);
    }
    inviter
      .invite({
        requestDelegate: {
          onProgress: (r) => {
            if (r.message.statusCode === 180 || r.message.statusCode === 183) call.setState("RINGING");
          },
          onReject: (r) => call.markEnd(outcomeOfFailure(r)),
        },
      })
      .catch((e: Error) => {
        call.markEnd({ outcome: "failed", reason: e.message });
        void call.hangup();
      });
    return call;
  }

  /** A number (in the account's domain) or a SIP URI, as dial() takes it; throws when it is neither. */
  targetUri(target: string): ReturnType<typeof UserAgent.makeURI> & object {
    const t = String(target ?? "").trim();
    const uriText = /^sips?:/i.test(t) ? t : /@/.test(t) ? `sip:${t}` : `sip:${t.replace(/[\s()/-]/g, "")}@${this.opts.domain}`;
    const uri = t ? UserAgent.makeURI(uriText) : undefined;
    if (!uri) throw new Error(`not a number or SIP URI: ${t}`);
    return uri;
  }

  /**
   * Blind transfer (REFER) of an answered call to a number or SIP URI; one at a time per call.
   * The handle's outcome settles with "succeeded" (the call is then ended) or "failed" (it stays).
   */
  transfer(call: Call, target: string, options: { timeoutMs?: number } = {}): TransferHandle {
    if (call.state !== "ANSWERED") throw new Error(`transfer: the call is ${call.state}, not ANSWERED`);
    if (call.info.simulated) throw new Error("transfer: a simulated call has no SIP to transfer");
    if (this.transfers.get(call)?.active) throw new Error("transfer: a transfer of this call is in progress");
    if (!String(target ?? "").trim()) throw new Error("transfer: no target (msg.to: a number or a SIP URI)");
    const t = new OutgoingTransfer(call, this.targetUri(target), (e, info) => this.emit("transfer", e, info), options);
    this.transfers.set(call, t);
    t.start();
    return t;
  }

  /**
   * Speaks text into an answered call; resolves when its first piece is queued (the rest follows).
   * say and play of one call are queued in the order they were asked for: a text still being
   * synthesised, or a file still being read, never lets a later one play first.
   */
  say(call: Call, text: string, o: SayRequestOptions = {}): Promise<PlaybackItem> {
    return this.inOrder(call, () => this.sayNow(call, text, o));
  }

  /** Plays a WAV (Buffer or path), or raw G.711 bytes with `format` "pcmu"/"pcma", into a call; in order with say. */
  play(call: Call, audio: Buffer | string, o: PlayRequestOptions = {}): Promise<PlaybackItem> {
    return this.inOrder(call, () => this.playNow(call, audio, o));
  }

  private inOrder(call: Call, prepare: () => Promise<PlaybackItem>): Promise<PlaybackItem> {
    const next = (this.audioOrder.get(call) ?? Promise.resolve()).then(prepare);
    this.audioOrder.set(
      call,
      next.catch(() => undefined),
    );
    return next;
  }

  private async sayNow(call: Call, text: string, o: SayRequestOptions): Promise<PlaybackItem> {
    if (typeof text !== "string" || !text.trim()) throw new Error("nothing to say: the text is empty");
    if (!call.active) throw new Error("the call has ended");
    const req = { text, language: o.language || this.opts.defaultLanguage, engine: o.engine, voice: o.voice };
    const speech = this.opts.speech;
    if (!speech.stream) {
      const pcm = await speech.synthesize(req);
      if (!call.active) throw new Error("the call ended while the message was prepared");
      return call.playback.enqueue(pcm, text, o.interrupt);
    }
    const pieces = speech.stream(req);
    const first = await pieces.next();
    if (first.done) throw new Error("the speech engine produced no audio");
    if (!call.active) {
      void pieces.return(undefined);
      throw new Error("the call ended while the message was prepared");
    }
    const clip = call.playback.enqueueStream(first.value, text, o.interrupt);
    void (async () => {
      try {
        for (let next = await pieces.next(); !next.done && !clip.stopped && call.active; next = await pieces.next()) clip.append(next.value);
      } catch (e) {
        this.emit("log", "warn", `speech stopped part-way: ${(e as Error).message}`);
      } finally {
        clip.end();
        void pieces.return(undefined);
      }
    })();
    return clip.item;
  }

  private async playNow(call: Call, audio: Buffer | string, o: PlayRequestOptions): Promise<PlaybackItem> {
    if (!call.active) throw new Error("the call has ended");
    const raw = o.format === "pcmu" || o.format === "pcma";
    if (raw && !Buffer.isBuffer(audio)) throw new Error(`play: raw ${o.format} audio must be a Buffer`);
    const pcm = raw ? decodeG711(o.format === "pcmu" ? "PCMU" : "PCMA", audio as Buffer) : await this.opts.speech.loadAudio(audio);
    if (!call.active) throw new Error("the call ended while the audio was loaded");
    return call.playback.enqueue(pcm, typeof audio === "string" ? audio : "audio buffer", o.interrupt);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wire?.events.off("response", this.onWireResponse);
    await Promise.all(this.list().map((c) => c.hangup({ reason: "node closed" }).catch(() => undefined)));
  }

  private track(call: Call, limits: CallLimits): Call {
    this.calls.set(call.id, call);
    this.bySession.set(call.session, call);
    const maxDurationSeconds = limits.maxDurationSeconds;
    call.on("state", (state, info) => {
      if (state === "ANSWERED" && maxDurationSeconds) {
        call.after(maxDurationSeconds * 1000, () => void call.hangup({ reason: "maximum call duration" }));
      }
      if (state === "ENDED") this.calls.delete(call.id);
      this.emit("call", state, info);
    });
    call.on("playback", (what, item, info, interrupted) => this.emit("playback", what, info, item.label, interrupted));
    call.on("refer", (refused, info) => this.logRefusedRefer(refused.referTo, refused.statusCode, info));
    call.referHandler = (referral) => this.onRefer(call, referral);
    this.emit("created", call);
    return call;
  }

  /** A flood of REFERs must not flood the log: REFER_LOG_MAX lines per window, then a count. */
  private logRefusedRefer(referTo: string, statusCode: number, info: CallInfo, now = Date.now()): void {
    const l = this.referLog;
    if (now - l.windowStart >= REFER_LOG_WINDOW_MS) {
      if (l.suppressed > 0) this.emit("log", "warn", `refused ${l.suppressed} more REFER requests (not logged)`);
      this.referLog = { windowStart: now, logged: 0, suppressed: 0 };
    }
    if (this.referLog.logged >= REFER_LOG_MAX) {
      this.referLog.suppressed++;
      return;
    }
    this.referLog.logged++;
    const who = printable(info.from.number || info.from.uri, REFER_TO_LOG_MAX);
    const why = statusCode === 603 ? "transfers are not allowed" : "target or request not allowed";
    this.emit("log", "warn", `refused a call transfer (REFER to "${referTo}") in the call with ${who} (${statusCode}): ${why}`);
  }

  /**
   * The peer's REFER (we are the transferee, RFC 5589 §6): refused 603 unless the policy allows
   * transfers; then only a target on the allow-list, at most MAX_REFERS_PER_CALL per call, one at a
   * time. An allowed one: 202, NOTIFY 100, a normal call through dial() (limits, greeting), NOTIFY
   * with its outcome; answered, the transferred call ends.
   */
  private onRefer(call: Call, referral: Referral): void {
    const policy = this.claim?.policy ?? this.policy;
    const count = (this.refersReceived.get(call) ?? 0) + 1;
    this.refersReceived.set(call, count);
    let raw: string | undefined;
    try {
      const all = referral.request.getHeaders("refer-to");
      raw = all.length === 1 ? all[0] : undefined;
    } catch {
      raw = undefined;
    }
    const reported = count <= MAX_REFERS_PER_CALL + 1;
    const report = (e: Omit<TransferEvent, "direction" | "target">, target = raw) => {
      if (!reported) return;
      try {
        this.emit("transfer", { direction: "inbound", target: printable(target ?? "", 120), ...e }, call.snapshot());
      } catch (err) {
        // Inside sip.js's request handling: a failing listener must not escape into it.
        this.emit("log", "warn", `a transfer listener failed: ${printable((err as Error)?.message ?? String(err), 120)}`);
      }
    };
    const refuse = (statusCode: number, reason: string) => {
      call.refuseRefer(referral, statusCode);
      report({ state: "refused", status: statusCode, reason });
    };
    if (!policy.allowTransfer) return refuse(603, "transfers are not allowed");
    if (count > MAX_REFERS_PER_CALL) return refuse(403, "too many transfer requests in this call");
    if (this.following.has(call)) return refuse(403, "a transfer of this call is in progress");
    const target = checkReferTo(raw, policy.transferAllowList ?? [], this.localHosts());
    if (isReferRefusal(target)) return refuse(target.statusCode, target.reason);
    if (!acceptReferral(referral)) return;
    this.following.add(call);
    report({ state: "accepted", status: 202 }, target.uri);
    sendReferNotify(call.session, 100, "Trying", false);
    this.followRefer(call, target, policy, (e) => report(e, target.uri));
  }

  /** Places the call to an accepted REFER's target and reports it to the transferor by NOTIFY. */
  private followRefer(
    original: Call,
    target: ReferTarget,
    policy: InboundPolicy,
    report: (e: Omit<TransferEvent, "direction" | "target">) => void,
  ): void {
    let placed: Call;
    try {
      placed = this.dial(target.uri, { limits: this.claim?.limits });
    } catch (err) {
      this.following.delete(original);
      sendReferNotify(original.session, 503, "Service Unavailable", true);
      report({ state: "failed", status: 503, reason: printable((err as Error)?.message ?? String(err), 120) });
      return;
    }
    const newCall = placed.id;
    report({ state: "trying", newCall });
    const onState = (s: CallState, info: CallInfo) => {
      if (s === "RINGING") {
        sendReferNotify(original.session, 180, "Ringing", false);
        report({ state: "ringing", status: 180, newCall });
        return;
      }
      if (s !== "ANSWERED" && s !== "ENDED") return;
      placed.off("state", onState);
      this.following.delete(original);
      if (s === "ANSWERED") {
        this.greet(
          placed,
          policy,
          matchGreeting(policy.greetings, placed.info.to.number, placed.info.to.anonymous, policy.ruleContext?.() ?? { now: Date.now() })?.greeting,
        );
        const end = () => void original.hangup({ reason: "transferred" }).catch(() => undefined);
        original.after(TRANSFER_HANGUP_WAIT_MS, end);
        sendReferNotify(original.session, 200, "OK", true, end);
        report({ state: "succeeded", status: 200, newCall });
        return;
      }
      const status =
        info.statusCode ?? (info.outcome === "busy" ? 486 : info.outcome === "no-answer" ? 480 : info.outcome === "rejected" ? 603 : 500);
      sendReferNotify(original.session, status, info.reason ?? info.outcome ?? "failed", true);
      report({ state: "failed", status, reason: info.reason ?? info.outcome, newCall });
    };
    placed.on("state", onState);
  }

  /** The hosts a number pattern of the transfer allow-list may send us to: the account's domain and AOR host. */
  private localHosts(): string[] {
    const domain = this.opts.domain.trim();
    const domainHost = domain.startsWith("[") ? domain.slice(0, domain.indexOf("]") + 1) : domain.split(":")[0];
    let aorHost = "";
    try {
      aorHost = String(this.opts.userAgent.configuration.uri.host ?? "");
    } catch {
      aorHost = "";
    }
    return [domainHost, aorHost].filter(Boolean).map((h) => h.toLowerCase());
  }

  /** Speaks the greeting row chosen when the call arrived (matchGreeting). */
  private greet(call: Call, policy: InboundPolicy, greeting: Greeting | undefined): void {
    if (!greeting || !greeting.message?.trim()) return;
    const after = policy.afterGreeting ?? "stay";
    this.say(call, greeting.message, { language: greeting.language })
      .then((item) => {
        if (after === "stay") return;
        const onFinished = (done: PlaybackItem, interrupted: boolean) => {
          if (done.id !== item.id || interrupted || !call.active) return;
          call.playback.off("finished", onFinished);
          if (after === "hangup") void call.hangup({ reason: "greeting played" });
          else {
            call.playback.enqueue(silence(1000), "pause");
            item = call.playback.enqueue(done.pcm, done.label);
            call.playback.on("finished", onFinished);
          }
        };
        call.playback.on("finished", onFinished);
      })
      .catch((e: Error) => this.emit("log", "warn", `greeting not played: ${e.message}`));
  }
}

/** What a final failure response to our INVITE means for the user. */
export function outcomeOfFailure(r: IncomingResponse): { outcome: CallInfo["outcome"]; reason: string; statusCode?: number } {
  const code = r.message.statusCode ?? 0;
  const synthetic = !r.message.callId;
  const reason = synthetic ? (code === 408 ? "timeout" : "transport error") : `${code} ${r.message.reasonPhrase ?? ""}`.trim();
  if (code === 486 || code === 600) return { outcome: "busy", reason, statusCode: code };
  if (code === 480 || (code === 408 && !synthetic)) return { outcome: "no-answer", reason, statusCode: code };
  if (code === 603) return { outcome: "rejected", reason, statusCode: code };
  if (code === 488 || code === 606) return { outcome: "codec-mismatch", reason, statusCode: code };
  if (code === 487) return { outcome: "cancelled", reason, statusCode: code };
  return { outcome: "failed", reason, statusCode: synthetic ? undefined : code };
}

/** An incoming call's session: sip.js's Invitation, or a simulated call's stand-in. */
function isIncoming(session: unknown): session is Invitation | SimulatedSession {
  return session instanceof Invitation || session instanceof SimulatedSession;
}

/** A response whose body is SDP. */
function hasSdp(msg: WireMessage): boolean {
  if (!msg.body.trim()) return false;
  const type = msg.headers.find((h) => headerName(h) === "content-type");
  return !!type && /^\s*application\/sdp\b/i.test(headerValue(type));
}
