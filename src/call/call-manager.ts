// Every call of one account: incoming policy (limits, caller filter, codec check,
// auto-answer and greeting), dialing out, and the events the nodes turn into messages.

import { EventEmitter } from "events";
import crypto from "crypto";
import { Invitation, Inviter, UserAgent, Core } from "sip.js";
import { precheckOffer, RtpSessionDescriptionHandler } from "../media/session-description-handler";
import type { Codec, CallInfo, CallState } from "../types";
import { Call, printable, REFER_TO_LOG_MAX } from "./call";
import { callerParty, Greeting, isCallerAllowed, matchedRule, matchGreeting, partyFromUri } from "./caller-match";
import type { RuleContext } from "./time-rules";
import { PlaybackItem, silence } from "./playback-queue";
import { decodeFrame as decodeG711 } from "../media/g711";
import { SipTransport } from "../sip/sip-transport";
import type { WireMessage } from "../sip/wire-message";

type IncomingResponse = Core.IncomingResponse;

/** Refused-REFER warnings logged per REFER_LOG_WINDOW_MS; the rest are counted and summarised. */
export const REFER_LOG_MAX = 5;
export const REFER_LOG_WINDOW_MS = 60_000;

export interface Speaker {
  synthesize(req: { text: string; language?: string; engine?: string; voice?: string }): Promise<Int16Array>;
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
  /** Time, time zone and mode for the greeting rows' conditions (default: now, the system's zone, no mode). */
  ruleContext?: () => RuleContext;
}

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
}

export interface DialOptions {
  message?: string;
  language?: string;
  /** This call only; before limits.ringTimeoutSeconds. */
  ringTimeoutSeconds?: number;
  /** The dialing node's limits (see CallLimits); the account's where undefined. */
  limits?: CallLimits;
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
    if (call?.state === "DIALING") call.setState("RINGING");
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

  /** The user agent's onInvite delegate. */
  onInvite(invitation: Invitation): void {
    const req = invitation.request;
    const from = callerParty(invitation.remoteIdentity.uri, invitation.remoteIdentity.displayName, (name) => req.getHeaders(name));
    const to = partyFromUri(invitation.localIdentity.uri, invitation.localIdentity.displayName);
    const refuse = (statusCode: number, outcome: CallInfo["outcome"], reason: string, rule?: CallInfo["rule"]) => {
      invitation.reject({ statusCode }).catch(() => undefined);
      const now = new Date().toISOString();
      this.emit("log", "info", `refused call from ${from.number || (from.anonymous ? "anonymous" : from.uri)}: ${reason} (${statusCode})`);
      this.emit("call", "ENDED", {
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
      });
    };
    if (this.closed) return refuse(503, "rejected", "shutting down");
    // Policy and limits as they are now: a later claim or release does not change this call.
    const policy = this.claim?.policy ?? this.policy;
    const limits = this.limitsOf(this.claim?.limits);
    if (this.list().length >= (limits.maxCalls ?? DEFAULT_MAX_CALLS)) return refuse(486, "rejected", "maximum number of calls reached");
    // sip.js would turn a media failure into 480; a clear 488 needs the offer checked first.
    if (req.body && /application\/sdp/i.test(req.getHeader("content-type") ?? "")) {
      const check = precheckOffer(req.body, this.opts.codecs);
      if (!check.ok) return refuse(488, "codec-mismatch", check.reason);
    }
    if (!isCallerAllowed(policy.filterMode, policy.filterList ?? [], from.number, from.anonymous))
      return refuse(603, "rejected", "caller not allowed");
    // The greeting row for this caller, now (time window, mode): it may also refuse the call.
    const ctx = policy.ruleContext?.() ?? { now: Date.now() };
    const match = matchGreeting(policy.greetings, from.number, from.anonymous, ctx);
    const rule = match ? matchedRule(match, ctx) : undefined;
    if (match?.greeting.action === "reject") return refuse(603, "rejected", `rejected by rule ${rule!.index}`, rule);

    const call = this.track(new Call(invitation, "inbound", from, to, { endTimeoutMs: this.opts.endTimeoutMs }), limits);
    if (rule) call.info.rule = rule;
    this.emit("call", "RINGING", call.snapshot());
    invitation.progress().catch(() => undefined);
    if (policy.autoAnswer) {
      const delay = Math.max(0, Number(policy.answerDelaySeconds) || 0) * 1000;
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
  }

  async answer(call: Call): Promise<void> {
    if (!(call.session instanceof Invitation)) throw new Error("only incoming calls can be answered");
    if (call.state !== "RINGING") throw new Error(`call is ${call.state}, not RINGING`);
    try {
      await call.session.accept();
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
    const uriText = /^sips?:/i.test(t) ? t : /@/.test(t) ? `sip:${t}` : `sip:${t.replace(/[\s()/-]/g, "")}@${this.opts.domain}`;
    const uri = UserAgent.makeURI(uriText);
    if (!uri) throw new Error(`not a number or SIP URI: ${t}`);
    const ua = this.opts.userAgent;
    const inviter = new Inviter(ua, uri, { earlyMedia: false });
    const from = partyFromUri(ua.configuration.uri, ua.configuration.displayName);
    const call = this.track(new Call(inviter, "outbound", from, partyFromUri(uri), { endTimeoutMs: this.opts.endTimeoutMs }), limits);
    const callId = inviter.request.callId;
    this.dialing.set(callId, call);
    call.on("state", () => {
      if (this.dialing.get(callId) === call) this.dialing.delete(callId);
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

  /** Speaks text into an answered call; resolves when it is queued. */
  async say(call: Call, text: string, o: { language?: string; interrupt?: boolean; engine?: string; voice?: string } = {}): Promise<PlaybackItem> {
    if (typeof text !== "string" || !text.trim()) throw new Error("nothing to say: the text is empty");
    if (!call.active) throw new Error("the call has ended");
    const pcm = await this.opts.speech.synthesize({ text, language: o.language || this.opts.defaultLanguage, engine: o.engine, voice: o.voice });
    if (!call.active) throw new Error("the call ended while the message was prepared");
    return call.playback.enqueue(pcm, text, o.interrupt);
  }

  /** Plays a WAV (Buffer or path), or raw G.711 bytes with `format` "pcmu"/"pcma", into a call. */
  async play(call: Call, audio: Buffer | string, o: { interrupt?: boolean; format?: "wav" | "pcmu" | "pcma" } = {}): Promise<PlaybackItem> {
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
    call.on("refer", (refused, info) => this.logRefusedRefer(refused.referTo, info));
    this.emit("created", call);
    return call;
  }

  /** A flood of REFERs must not flood the log: REFER_LOG_MAX lines per window, then a count. */
  private logRefusedRefer(referTo: string, info: CallInfo, now = Date.now()): void {
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
    this.emit("log", "warn", `refused a call transfer (REFER to "${referTo}") in the call with ${who} (603): transfer is not supported`);
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
