// A whole SIP phone for one account: registration (Phone), media (RTP handlers),
// calls (CallManager) and speech. This is what the sip-client config node builds, and the
// one door the Node-RED nodes use: calls are addressed by id and described by snapshots
// (CallInfo), so no node holds a Call or the CallManager.

import crypto from "crypto";
import { EventEmitter } from "events";
import { Invitation, type Message, type Session } from "sip.js";
import { Phone, PhoneEvents } from "./phone/phone";
import { AccountOptions } from "./phone/account";
import { runDoctor, type DoctorReport } from "./doctor/doctor";
import { splitHostPort } from "./sip/dns-resolve";
import { doctorLanguage } from "./doctor/texts";
import { runTestCall, type TestCallPort } from "./doctor/test-call";
import { encodeFrame } from "./media/g711";
import { createRtpSdhFactory, RtpSessionDescriptionHandler } from "./media/session-description-handler";
import { mediaPool } from "./media/worker/media-pool";
import { srtpPolicyFor, type SrtpPolicy } from "./media/srtp-policy";
import { CallLimits, CallManager, CallManagerEvents, DialOptions, InboundPolicy, Speaker } from "./call/call-manager";
import type {
  CallInfo,
  CallParty,
  CallQualityInfo,
  CallState,
  Codec,
  CodecOrder,
  DtmfDigit,
  DtmfMethod,
  WireDtmfMethod,
  RegistrationState,
  RtpSecurity,
} from "./types";
import type { RegistrationDetail } from "./phone/registration";
import { Call } from "./call/call";
import type { PlaybackItem } from "./call/playback-queue";
import type { AudioPathEvent } from "./media/audio-path";
import type { RingbackPlan } from "./media/ringback";
import { CallDtmf, DEFAULT_DTMF, DtmfOptions } from "./call/call-dtmf";
import { DEFAULT_PORTS } from "./sip/transports";
import { uriHost } from "./sip/wire-rewriter";
import { routeSourceToward } from "./sip/local-address";
import { addSessionDelegate } from "./sip/session-delegates";
import { CallRecording, type RecordOptions, type RecordingHandle } from "./call/call-recording";
import { answerMessage, isRefusal, readIncomingMessage, sendTextMessage, TextMessageOutcome } from "./call/text-message";
import type { TransferEvent, TransferHandle } from "./call/transfer";
import { AlertOptions, AlertResult, Escalation } from "./call/escalation";
import { SimulatedAudio, simulatedCaller } from "./call/simulated-call";

/** An id from outside (the editor) made safe for an error text. */
function printableId(id: unknown): string {
  return String(id)
    .replace(/[^\w-]/g, "?")
    .slice(0, 40);
}

export interface MediaOptions {
  codecs?: Codec[];
  /** When we answer: "caller" (default) follows the offer's codec order, "mine" follows `codecs`. */
  codecOrder?: CodecOrder;
  rtpPortMin?: number;
  rtpPortMax?: number;
  /** Hang up when no RTP arrives for this long (ms); 0 = never. */
  rtpTimeoutMs?: number;
  /**
   * Where RTP is accepted from. "latch" (default): the address in the peer's SDP, or, after the
   * answer, the first source at the SDP's or the signalling peer's IP (NAT), then locked with its SSRC.
   * "strict": only the exact address:port of the SDP.
   */
  rtpSecurity?: RtpSecurity;
}

export interface SoftphoneOptions {
  account: AccountOptions;
  media?: MediaOptions;
  speech: Speaker;
  defaultLanguage?: string;
  maxCalls?: number;
  maxDurationSeconds?: number;
  ringTimeoutSeconds?: number;
  logSip?: boolean;
  dtmf?: Partial<DtmfOptions>;
}

/** A SIP MESSAGE that arrived (RFC 3428): `call` when it came inside a call. */
export interface TextMessageInfo {
  text: string;
  from: CallParty;
  to: CallParty;
  call?: CallInfo;
}

export interface SoftphoneEvents {
  dtmf: [digit: DtmfDigit, method: DtmfMethod, call: CallInfo];
  /** A text message; out of a call it is answered 200 only when someone listens to this event (else 480). */
  message: [message: TextMessageInfo];
  /** An answered call's hold state (call.hold) changed: by hold()/resume() or by the peer. */
  hold: [call: CallInfo];
  /** An answered call's audio path changed: flowing, one-way or no-rtp (on change only, bounded per call). */
  media: [event: AudioPathEvent, call: CallInfo];
  /** An answered call's quality (RTCP loss, jitter, RTT, MOS), every CALL_QUALITY_INTERVAL_MS, not while held. */
  quality: [quality: CallQualityInfo, call: CallInfo];
  /** A simulated call's outgoing audio (simulateCall): 100 ms batches of 16-bit PCM at 8 kHz, while answered or with early media. */
  simulatedAudio: [pcm: Int16Array, call: CallInfo];
}

/** Everything a Softphone emits: registration, log, sip, call, playback, created, dtmf, message, hold, media. */
export type SoftphoneEventMap = PhoneEvents & CallManagerEvents & SoftphoneEvents;

/** A clip queued into a call. */
export interface PlaybackHandle {
  /** Its id within the call. */
  readonly id: number;
  /** Its text or file name, as in the playback messages. */
  readonly label: string;
  /** Settles when it has been played (false) or was stopped or dropped (true: interrupted). */
  readonly finished: Promise<boolean>;
}

/** The events of one call, by id (see Softphone.watchCall). */
export interface CallWatcher {
  state?(state: CallState, call: CallInfo): void;
  playback?(what: "started" | "finished", call: CallInfo, label: string, interrupted: boolean): void;
  dtmf?(digit: DtmfDigit, method: DtmfMethod, call: CallInfo): void;
  media?(event: AudioPathEvent, call: CallInfo): void;
  transfer?(event: TransferEvent, call: CallInfo): void;
  quality?(quality: CallQualityInfo, call: CallInfo): void;
}

export interface SayOptions {
  language?: string;
  interrupt?: boolean;
  engine?: string;
  voice?: string;
}
export interface PlayOptions {
  interrupt?: boolean;
  format?: "wav" | "pcmu" | "pcma";
}

export function parseCodecList(value: string | Codec[] | undefined): Codec[] {
  const list = (Array.isArray(value) ? value : String(value ?? "PCMA,PCMU").split(/[,\s]+/))
    .map((c) => c.trim().toUpperCase())
    .filter((c): c is Codec => c === "PCMU" || c === "PCMA");
  return list.length ? [...new Set(list)] : ["PCMA", "PCMU"];
}

/** Where plain numbers are dialed: the AOR domain, or the server with its port when that is not the default. */
export function dialDomain(a: AccountOptions): string {
  if (a.domain?.trim()) return a.domain.trim();
  const t = a.transport ?? "udp";
  const port = Number(a.port) || DEFAULT_PORTS[t];
  const host = uriHost(a.server);
  return port === DEFAULT_PORTS[t] ? host : `${host}:${port}`;
}

export class Softphone extends EventEmitter<SoftphoneEventMap> {
  private readonly dtmfByCall = new WeakMap<Call, CallDtmf>();
  /** Waiting PlaybackHandle.finished promises, per call, by item id (bounded by the call's queue). */
  private readonly playbackWaiters = new WeakMap<Call, Map<number, (interrupted: boolean) => void>>();
  private readonly dtmfOptions: DtmfOptions;
  /** The recording running in each call (at most one at a time; removed when it ends). */
  private readonly recordings = new Map<string, CallRecording>();
  private readonly messageDomain: string;
  private readonly codecs: Codec[];
  private readonly account: AccountOptions;
  /** Diagnoses running, by test-call target ("" none, "self", or the number): the same request shares one. */
  private readonly diagnoses = new Map<string, Promise<DoctorReport>>();
  /** The doctor's test call running (one per account). */
  private testCalling = false;
  /** The doctor's test calls: their events go to `quiet` (watchCall only), never to the flow nodes. */
  private readonly hidden = new Set<string>();
  private readonly quiet = new EventEmitter();
  /** Set while the doctor creates a call: the next call made is one of its hidden ones. */
  private hideNext?: (call: CallInfo) => void;
  /** The self test call's incoming leg, while it is awaited. */
  private trap?: { match: (from: CallParty) => boolean; taken: (call: CallInfo) => void };
  /** While the doctor's incoming leg is handed to the call manager: a refusal of it (486 at the limit) is the doctor's too. */
  private quietInvite = false;
  /** The SIP account (registration, transport). For library use; nodes use the methods below. */
  readonly phone: Phone;
  /** The calls of the account. For library use; nodes use the methods below. */
  readonly calls: CallManager;

  constructor(opts: SoftphoneOptions) {
    super();
    const codecs = parseCodecList(opts.media?.codecs);
    this.codecs = codecs;
    this.account = opts.account;
    this.dtmfOptions = { ...DEFAULT_DTMF, ...opts.dtmf };
    // Built in order: media handlers and the INVITE delegate are methods of this object, which
    // sip.js calls only once the phone has started, when phone and calls both exist.
    // Whether SDES keys may travel (srtp-policy.ts): our calls go over the account's transport; an
    // incoming call over the hop its INVITE actually came on (an inbound listener may differ).
    const a = opts.account;
    const accountSrtp = srtpPolicyFor(a.srtp, a.transport, a.srtpOverInsecure);
    const srtp = (session: Session | null): SrtpPolicy => {
      if (!(session instanceof Invitation)) return accountSrtp;
      const secure = this.phone.transport.arrivedSecurely(session.request.callId);
      return secure === undefined ? accountSrtp : srtpPolicyFor(a.srtp, secure ? "tls" : "tcp", a.srtpOverInsecure);
    };
    const mediaFactory = createRtpSdhFactory(
      {
        codecs,
        codecOrder: opts.media?.codecOrder,
        portMin: opts.media?.rtpPortMin ?? 16384,
        portMax: opts.media?.rtpPortMax ?? 32767,
        bindAddress: opts.account.localAddress || undefined,
        advertisedAddress: () => this.advertisedAddress(),
        addressToward: (ip) => routeSourceToward(ip),
        rtpTimeoutMs: opts.media?.rtpTimeoutMs ?? 60_000,
        rtpSecurity: opts.media?.rtpSecurity ?? "latch",
        signallingHosts: () => this.signallingHosts(opts.account),
        srtp,
      },
      { onSession: (sdh) => this.onMediaHandler(sdh) },
    );
    this.phone = new Phone(opts.account, {
      sessionDescriptionHandlerFactory: mediaFactory,
      delegate: { onInvite: (inv) => this.onInvite(inv), onMessage: (m) => this.onTextMessage(m) },
      logSip: opts.logSip,
    });
    this.messageDomain = dialDomain(opts.account);
    this.calls = new CallManager({
      userAgent: this.phone.userAgent,
      domain: dialDomain(opts.account),
      codecs,
      speech: opts.speech,
      defaultLanguage: opts.defaultLanguage,
      maxCalls: opts.maxCalls,
      maxDurationSeconds: opts.maxDurationSeconds,
      ringTimeoutSeconds: opts.ringTimeoutSeconds,
      srtp,
    });
    this.forward(this.phone, ["registration", "log", "sip"]);
    this.forward(this.calls, ["log"]);
    this.calls.on("call", (state, info) => this.publish("call", info, state, info));
    this.calls.on("playback", (what, info, label, interrupted) => this.publish("playback", info, what, info, label, interrupted));
    this.calls.on("transfer", (event, info) => this.publish("transfer", info, event, info));
    this.calls.on("created", (c) => this.attach(c));
  }

  start(): Promise<void> {
    return this.phone.start();
  }

  async stop(timeoutMs = 2000): Promise<void> {
    await this.calls.close();
    await this.phone.stop(timeoutMs);
    // The media worker ends with the last Softphone's last call (a redeploy; tests without --exit).
    void mediaPool.stopWhenIdle();
  }

  get registrationState(): RegistrationState {
    return this.phone.registrationState;
  }
  get registrationDetail(): RegistrationDetail {
    return this.phone.registrationDetail;
  }

  // ---- calls, by id ----

  /** Snapshots of the active calls, oldest first. */
  activeCalls(): CallInfo[] {
    return this.calls
      .list()
      .filter((c) => !this.hidden.has(c.id))
      .map((c) => c.snapshot());
  }

  /** A snapshot of an active call, or undefined (unknown or ended). */
  call(id: string): CallInfo | undefined {
    const c = this.calls.get(id);
    return c?.active ? c.snapshot() : undefined;
  }

  /** Dials a number (in the account's domain) or a SIP URI; `options.limits` are the dialing node's. */
  dial(target: string, options: DialOptions = {}): CallInfo {
    this.phone.transport.assertCanReach(String(target ?? "").trim()); // sips: only over TLS
    return this.calls.dial(target, options).snapshot();
  }

  answer(id: string): Promise<void> {
    return this.withCall(id, (c) => this.calls.answer(c));
  }
  /**
   * Early media on a ringing incoming call: 183 + SDP, say/play reach the caller before any answer
   * (the caller is not charged); then answer() or reject(). `ringback` plays that tone meanwhile.
   */
  progress(id: string, options: { ringback?: RingbackPlan } = {}): Promise<void> {
    return this.withCall(id, (c) => this.calls.progress(c, options));
  }
  reject(id: string, statusCode = 486): Promise<void> {
    return this.withCall(id, (c) => this.calls.reject(c, statusCode));
  }
  /** Ends the call whatever its state (BYE, CANCEL or a rejection); `reason` ends up in its ENDED snapshot. */
  hangup(id: string, end: { reason?: string } = {}): Promise<void> {
    return this.withCall(id, (c) => c.hangup(end));
  }

  /** Puts the peer on hold (re-INVITE a=sendonly); say/play still reach it (music on hold). Rejects if refused. */
  hold(id: string): Promise<void> {
    return this.withCall(id, (c) => c.setHold(true));
  }
  /** Takes the call off our hold (re-INVITE a=sendrecv). Rejects if refused; the call stays held then. */
  resume(id: string): Promise<void> {
    return this.withCall(id, (c) => c.setHold(false));
  }

  /**
   * Blind transfer (REFER) of an answered call to a number or SIP URI. Resolves with a handle once the
   * REFER is sent; its steps come as "transfer" events, its `outcome` settles with "succeeded" (the call
   * is ended: BYE) or "failed" (it stays). Rejects on a call not ANSWERED, a bad target, one already going.
   */
  transfer(id: string, target: string, options: { timeoutMs?: number } = {}): Promise<TransferHandle> {
    return this.withCall(id, (c) => {
      try {
        return Promise.resolve(this.calls.transfer(c, target, options));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Speaks text into an answered call; resolves when it is queued. */
  say(id: string, text: string, options: SayOptions = {}): Promise<PlaybackHandle> {
    return this.withCall(id, async (c) => this.handle(c, await this.calls.say(c, text, options)));
  }

  /** Plays a WAV (Buffer or path), or raw G.711 bytes with `format` "pcmu"/"pcma", into a call. */
  play(id: string, audio: Buffer | string, options: PlayOptions = {}): Promise<PlaybackHandle> {
    return this.withCall(id, async (c) => this.handle(c, await this.calls.play(c, audio, options)));
  }

  /**
   * Runs the SIP doctor (src/doctor/doctor.ts) on this account: DNS, transports, NAT, credentials,
   * expiry, methods, codecs; a report in plain words (en, fr, de) with a fix per finding. One run at
   * a time: a second request while one runs gets the same report. Never rejects; no secret inside.
   */
  diagnose(options: { language?: string; testCall?: boolean | string } = {}): Promise<DoctorReport> {
    // testCall: true calls the account itself; a string is the number (echo, second extension) to call.
    const target = typeof options.testCall === "string" && options.testCall.trim() ? options.testCall.trim() : undefined;
    const key = target ?? (options.testCall === true ? "self" : "");
    const running = this.diagnoses.get(key);
    if (running) return running;
    const a = this.account; // as configured: no port means DNS SRV, as for registration
    const proxy = a.outboundProxy?.trim() ? splitHostPort(a.outboundProxy, 0) : null;
    const run = runDoctor(
      {
        server: proxy ? proxy.host : a.server,
        port: (proxy ? proxy.port : Number(a.port)) || undefined,
        transport: a.transport ?? "udp",
        username: a.username,
        domain: a.domain,
        keepAlive: a.keepAlive,
        expires: a.expires,
        register: a.register,
        localAddress: a.localAddress,
        tls: { ca: a.tlsCa, rejectUnauthorized: a.tlsRejectUnauthorized, cert: a.tlsCert, key: a.tlsKey },
        dnsServers: a.dnsServers,
        registration: { state: this.phone.registrationState, detail: this.phone.registrationDetail },
        realms: this.phone.transport.registrarRealms,
        sdpAddress: this.advertisedAddress(),
        codecs: [...this.codecs, "telephone-event"],
      },
      { language: doctorLanguage(options.language), testCall: key ? () => this.testCall(target) : undefined },
    ).finally(() => {
      this.diagnoses.delete(key);
    });
    this.diagnoses.set(key, run);
    return run;
  }

  /** The doctor's test call (src/doctor/test-call.ts): one per account at a time; its calls hidden from the flow. */
  private async testCall(target: string | undefined): ReturnType<typeof runTestCall> {
    if (this.testCalling) return [{ id: "test-call", level: "warn", facts: { busy: true } }];
    if (!target && this.registrationState !== "REGISTERED")
      return [{ id: "test-call", level: "info", facts: { skipped: true, state: this.registrationState } }];
    this.testCalling = true;
    const port: TestCallPort = {
      // The self-call keeps its Call-ID through a proxy: one without sip.js's own prefix, or sip.js answers 482.
      dial: (t, ringTimeoutSeconds) =>
        this.quietly(() => this.dial(t, { ringTimeoutSeconds, callId: target ? undefined : `doctor-${crypto.randomUUID()}` })),
      trapInbound: (trap) => {
        this.trap = trap;
      },
      answer: (id) => this.answer(id),
      hangup: (id) => this.hangup(id),
      stopPlayback: (id) => this.stopPlayback(id),
      playPcm: (id, pcm) => this.play(id, encodeFrame("PCMU", pcm), { format: "pcmu" }), // G.711 in: no speech engine needed
      sendDtmf: (id, digit, method) => this.sendDtmf(id, digit, method),
      watchCall: (id, w) => this.watchCall(id, w),
      listenAudio: (id, f) => this.listenAudio(id, f),
      receiveMethods: this.dtmfOptions.receive,
      user: this.account.username,
      selfTarget: this.account.username,
    };
    try {
      return await runTestCall(port, target);
    } finally {
      this.trap = undefined;
      this.testCalling = false;
    }
  }

  /** Runs `make` with the call it creates hidden from the flow nodes (their events go to `quiet`). */
  private quietly(make: () => CallInfo): CallInfo {
    this.hideNext = () => undefined;
    try {
      return make();
    } finally {
      this.hideNext = undefined;
    }
  }

  /** Emits an event of a call: to the flow, or only to watchCall for the doctor's hidden calls (forgotten at ENDED). */
  private publish<K extends "call" | "playback" | "transfer" | "dtmf" | "hold" | "media" | "quality">(
    event: K,
    call: CallInfo,
    ...args: SoftphoneEventMap[K]
  ): void {
    const hidden = this.hidden.has(call.id) || this.quietInvite;
    (hidden ? this.quiet : this).emit(event, ...args);
    if (hidden && event === "call" && call.state === "ENDED") this.hidden.delete(call.id);
  }

  /**
   * Hears what the remote side of an answered call sends: 20 ms frames of 8 kHz PCM, until the
   * returned function is called or the call ends (a re-INVITE's new RTP session included).
   */
  listenAudio(id: string, onFrame: (pcm: Int16Array) => void): () => void {
    const c = this.calls.get(id);
    const sdh = c?.sdh;
    if (!c?.active || !sdh) return () => undefined;
    const onAudio = (pcm: Int16Array) => onFrame(pcm);
    const sessions = new Set<{ off(e: "audio", f: typeof onAudio): unknown }>();
    const listen = (rtp: NonNullable<typeof sdh.rtp>) => {
      if (sessions.has(rtp)) return;
      sessions.add(rtp);
      rtp.on("audio", onAudio);
    };
    if (sdh.rtp) listen(sdh.rtp);
    sdh.on("rtp", listen);
    return () => {
      sdh.off("rtp", listen);
      for (const rtp of sessions) rtp.off("audio", onAudio);
      sessions.clear();
    };
  }

  /** Something is playing or queued in the call. */
  isPlaying(id: string): boolean {
    return !!this.calls.get(id)?.playback.playing;
  }

  /** Stops what plays and drops what waits (barge-in); their handles settle as interrupted. */
  stopPlayback(id: string): void {
    this.calls.get(id)?.playback.stop();
  }

  /** Sends DTMF into an answered call by the account's send method (or `method`). */
  sendDtmf(call: string | Call, digits: string, method?: WireDtmfMethod): Promise<void> {
    const c = typeof call === "string" ? this.calls.get(call) : call;
    const dtmf = c ? this.dtmfByCall.get(c) : undefined;
    if (!dtmf) return Promise.reject(new Error("dtmf: unknown call"));
    return dtmf.send(digits, method);
  }

  /**
   * Records what the remote side of an answered call says (8 kHz 16-bit mono WAV) until hang-up,
   * silence, a limit, a stop key or stop(); `finished` never rejects. Throws when the call is not
   * active and answered, or already records.
   */
  record(callId: string, options: RecordOptions = {}): RecordingHandle {
    const c = this.calls.get(callId);
    if (!c || !c.active) throw new Error(`record: no active call with id ${callId}`);
    if (c.state !== "ANSWERED" || !c.sdh) throw new Error(`record: the call is ${c.state}, not ANSWERED`);
    if (this.recordings.get(callId)?.active) throw new Error("record: this call is already being recorded");
    const rec = new CallRecording(c, options);
    this.recordings.set(callId, rec);
    const dtmf = this.dtmfByCall.get(c);
    const onDigit = (d: { digit: string }) => rec.key(d.digit);
    dtmf?.on("digit", onDigit);
    void rec.finished.then(() => {
      dtmf?.off("digit", onDigit);
      if (this.recordings.get(callId) === rec) this.recordings.delete(callId);
    });
    return { finished: rec.finished, stop: () => rec.stop() };
  }

  /** Stops the call's recording (reason "stop"); false when it has none. */
  stopRecording(callId: string): boolean {
    const rec = this.recordings.get(callId);
    if (!rec) return false;
    rec.stop();
    return true;
  }

  /** The call has a recording running. */
  isRecording(callId: string): boolean {
    return !!this.recordings.get(callId)?.active;
  }

  /**
   * Sends a text message (SIP MESSAGE, text/plain) to a number (in the account's domain) or a SIP URI.
   * Resolves with the final answer (delivered or not, status code); rejects only on bad input
   * (empty text, over MAX_TEXT_MESSAGE_BYTES, not a URI).
   */
  sendMessage(to: string, text: string): Promise<TextMessageOutcome> {
    try {
      return sendTextMessage(this.phone.userAgent, to, text, this.messageDomain);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * A flow node takes over incoming calls with its policy and its limits (see CallLimits); false
   * when another node already has them. The owner releases them with releaseInbound().
   */
  claimInbound(owner: string, policy: InboundPolicy, limits: CallLimits = {}): boolean {
    return this.calls.claimInboundPolicy(owner, policy, limits);
  }

  releaseInbound(owner: string): void {
    this.calls.releaseInboundPolicy(owner);
  }

  /**
   * Escalation: once start()ed, calls `options.numbers` in turn, round after round, each through
   * dial() with `limits`, until someone presses the confirm key; `done` gets the one result.
   * See call/escalation.ts.
   */
  alert(options: AlertOptions, done: (result: AlertResult) => void, limits: CallLimits = {}): Escalation {
    return new Escalation(this, options, done, limits, undefined, (t) => this.emit("log", "warn", t));
  }

  // ---- the editor's call simulator (call/simulated-call.ts) ----

  /**
   * A virtual incoming call from `from` (digits) through the account's inbound path: limits, caller
   * filter, greeting rows, the claiming node's policy; no SIP, no RTP. Its audio comes as
   * "simulatedAudio" events; keys go in with simulateDigit(). Returns its snapshot (ENDED when refused);
   * throws on a bad number or name. At most SIMULATED_CALLS_MAX at a time, SIMULATED_CALL_MAX_MS long.
   */
  simulateCall(caller: { from: string; name?: string }): CallInfo {
    const who = simulatedCaller(caller?.from, caller?.name);
    const domain = this.messageDomain;
    const from: CallParty = { number: who.number, name: who.name ?? "", uri: `sip:${who.number}@${domain}`, anonymous: false, source: "from" };
    const ua = this.phone.userAgent.configuration;
    const to: CallParty = { number: String(ua.uri.user ?? ""), name: ua.displayName ?? "", uri: String(ua.uri) };
    const made = this.calls.simulate(from, to);
    if (!(made instanceof Call)) return made;
    const call = made;
    const audio = new SimulatedAudio(call);
    audio.on("audio", (pcm) => this.emit("simulatedAudio", pcm, call.snapshot()));
    const onState = (s: CallState) => {
      if (s === "ANSWERED") audio.start();
      if (s !== "ENDED") return;
      audio.stop();
      call.off("state", onState);
    };
    call.on("state", onState);
    if (call.info.earlyMedia) audio.start();
    return call.snapshot();
  }

  /** A key pressed on the simulator's keypad: into the answered simulated call's DTMF as if received (method "simulated"). */
  simulateDigit(callId: string, key: string): void {
    const c = this.simulated(callId);
    if (c.state !== "ANSWERED") throw new Error(`the simulated call is ${c.state}, not ANSWERED`);
    this.dtmfByCall.get(c)?.inject(key);
  }

  /** The simulator's caller hangs up (hungUpBy "remote"; a ringing call ends as "cancelled"). */
  simulateHangup(callId: string): Promise<void> {
    const c = this.simulated(callId);
    c.markEnd({ hungUpBy: "remote" });
    return c.hangup();
  }

  private simulated(id: string): Call {
    const c = this.calls.get(id);
    if (!c || !c.active || !c.info.simulated) throw new Error(`no active simulated call with id ${printableId(id)}`);
    return c;
  }

  /** Listens to the events of one call; returns the function that stops listening (call it on ENDED at the latest). */
  watchCall(id: string, watcher: CallWatcher): () => void {
    const onState = (s: CallState, c: CallInfo) => {
      if (c.id === id) watcher.state?.(s, c);
    };
    const onPlayback = (w: "started" | "finished", c: CallInfo, l: string, i: boolean) => {
      if (c.id === id) watcher.playback?.(w, c, l, i);
    };
    const onDtmf = (d: DtmfDigit, m: DtmfMethod, c: CallInfo) => {
      if (c.id === id) watcher.dtmf?.(d, m, c);
    };
    const onMedia = (e: AudioPathEvent, c: CallInfo) => {
      if (c.id === id) watcher.media?.(e, c);
    };
    const onTransfer = (e: TransferEvent, c: CallInfo) => {
      if (c.id === id) watcher.transfer?.(e, c);
    };
    const onQuality = (q: CallQualityInfo, c: CallInfo) => {
      if (c.id === id) watcher.quality?.(q, c);
    };
    // A hidden call (the doctor's) has its events on `quiet`.
    const on = [this, this.quiet];
    const listeners: Array<[string, (...a: never[]) => void]> = [
      ["call", onState],
      ["playback", onPlayback],
      ["dtmf", onDtmf],
      ["media", onMedia],
      ["transfer", onTransfer],
      ["quality", onQuality],
    ];
    for (const e of on) for (const [name, f] of listeners) e.on(name, f as (...a: unknown[]) => void);
    return () => {
      for (const e of on) for (const [name, f] of listeners) e.off(name, f as (...a: unknown[]) => void);
    };
  }

  // ---- wiring ----

  /** Re-emits the named events of the phone or the call manager, unchanged (the names are checked against both maps). */
  private forward<T extends Record<keyof T, unknown[]>>(
    from: EventEmitter<T>,
    events: ReadonlyArray<NoInfer<keyof T> & keyof SoftphoneEventMap>,
  ): void {
    const source = from as unknown as EventEmitter;
    const sink = this as unknown as EventEmitter;
    for (const e of events) source.on(e, (...args: unknown[]) => sink.emit(e, ...args));
  }

  private withCall<T>(id: string, fn: (call: Call) => Promise<T>): Promise<T> {
    const c = this.calls.get(id);
    if (!c || !c.active) return Promise.reject(new Error(`no active call with id ${id}`));
    return fn(c);
  }

  private handle(call: Call, item: PlaybackItem): PlaybackHandle {
    const waiters = this.playbackWaiters.get(call);
    const finished = new Promise<boolean>((resolve) => {
      if (!waiters || !call.active) resolve(true);
      else waiters.set(item.id, resolve);
    });
    return { id: item.id, label: item.label, finished };
  }

  /** A new call: its DTMF, and the settling of its playback handles. */
  private attach(call: Call): void {
    const hide = this.hideNext;
    this.hideNext = undefined;
    if (hide) {
      this.hidden.add(call.id);
      hide(call.snapshot());
    }
    const dtmf = new CallDtmf(call, this.dtmfOptions);
    this.dtmfByCall.set(call, dtmf);
    dtmf.on("digit", (d) => {
      const info = call.snapshot();
      this.publish("dtmf", info, d.digit, d.method, info);
    });
    dtmf.on("warning", (t) => this.emit("log", "warn", t));
    call.on("hold", (_hold, info) => this.publish("hold", info, info));
    call.on("audioPath", (e, info) => this.publish("media", info, e, info));
    call.on("quality", (q, info) => this.publish("quality", info, q, info));
    const waiters = new Map<number, (interrupted: boolean) => void>();
    this.playbackWaiters.set(call, waiters);
    call.on("playback", (what, item, _info, interrupted) => {
      if (what !== "finished") return;
      waiters.get(item.id)?.(interrupted);
      waiters.delete(item.id);
    });
    // A MESSAGE inside the call: delivered with the call (sip.js only passes them while it is established).
    addSessionDelegate(call.session, "onMessage", (m) => this.onTextMessage(m, call));
    call.on("state", (s) => {
      if (s !== "ENDED") return;
      for (const settle of waiters.values()) settle(true);
      waiters.clear();
    });
    this.emit("created", call);
  }

  private onInvite(invitation: Invitation): void {
    const trap = this.trap;
    if (trap) {
      const uri = invitation.remoteIdentity.uri;
      const from = { number: uri.user ?? "", name: invitation.remoteIdentity.displayName ?? "", uri: uri.toString() };
      if (trap.match(from)) {
        // The doctor's own incoming leg: no flow node's policy, never seen by the flow; the doctor answers it.
        this.trap = undefined;
        this.hideNext = (c) => trap.taken(c);
        this.quietInvite = true;
        try {
          this.calls.onInvite(invitation, { policy: { autoAnswer: false } });
        } finally {
          this.hideNext = undefined;
          this.quietInvite = false;
        }
        return;
      }
    }
    this.calls.onInvite(invitation);
  }
  /** Screens a MESSAGE (415/413), then delivers it; 480 when no one takes text messages. */
  private onTextMessage(message: Message, call?: Call): void {
    const read = readIncomingMessage(message);
    if (isRefusal(read)) {
      this.emit("log", "debug", `refused a SIP MESSAGE: ${read.statusCode} ${read.reason}`);
      answerMessage(message, read.statusCode, read.reason, read.extraHeaders);
      return;
    }
    if (this.listenerCount("message") === 0) {
      answerMessage(message, 480, "Temporarily Unavailable");
      return;
    }
    answerMessage(message, 200);
    try {
      this.emit("message", call ? { ...read, call: call.snapshot() } : read);
    } catch (err) {
      // Already answered 200: a failing listener must not make sip.js answer the request a second time.
      this.emit("log", "warn", `a text message listener failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  private onMediaHandler(sdh: RtpSessionDescriptionHandler): void {
    this.calls.onMediaHandler(sdh);
  }
  private advertisedAddress(): string {
    return this.phone.transport.local?.address ?? "127.0.0.1";
  }
  /** RTP relays next to the PBX may latch: the resolved next hop and the registrar (if an IP). */
  private signallingHosts(account: AccountOptions): string[] {
    return [this.phone.transport.nextHop?.address, account.server?.trim()].filter((h): h is string => !!h);
  }
}
