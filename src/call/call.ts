// One call: its state (DIALING, RINGING, ANSWERED, ENDED), how it ended, and
// what it plays. Wraps a sip.js Invitation (inbound) or Inviter (outbound).

import { EventEmitter } from "events";
import crypto from "crypto";
import { Invitation, Inviter, Referral, Session, SessionState } from "sip.js";
import type { RtpSdhDescriptionOptions, RtpSessionDescriptionHandler } from "../media/session-description-handler";
import { SAMPLES_PER_FRAME } from "../media/audio-format";
import type { FrameSink, FrameSource, OutgoingFrame } from "../media/rtp-session";
import { AudioPathWatcher, rtpAudioPathSample, type AudioPathEvent } from "../media/audio-path";
import { CallDirection, CallHold, CallInfo, CallOutcome, CallParty, CallQualityInfo, CallState } from "../types";
import { PlaybackItem, PlaybackQueue } from "./playback-queue";
import { addSessionDelegate } from "../sip/session-delegates";
import { interceptAckTimeout } from "../sip/sipjs-internals";

/** RFC 3261 Timer T1 (ms). */
const T1_MS = 500;
/**
 * Longest a hang-up may take before the call is ended locally (64·T1, the time any SIP
 * transaction may last): media closed, ENDED emitted, slot freed, whatever sip.js does.
 */
export const CALL_END_TIMEOUT_MS = 64 * T1_MS;
/** Longest a hold/resume re-INVITE may wait for its final answer (64·T1, as any transaction). */
export const HOLD_TIMEOUT_MS = 64 * T1_MS;
/**
 * How often an answered call reports its quality (loss, jitter, RTT, MOS; the "quality" media message):
 * the RTCP minimum report interval (RFC 3550 §6.2), so each message can carry a new report. Not while held.
 */
export const CALL_QUALITY_INTERVAL_MS = 5000;
/** Longest reason phrase of a refused re-INVITE put in an error (it is remote-controlled). */
const REASON_MAX = 60;
/** Longest Refer-To text put in a log line (it is remote-controlled). */
export const REFER_TO_LOG_MAX = 80;

/** A REFER we refused (603), for a rate-limited warning. */
export interface RefusedRefer {
  /** Refer-To, printable ASCII only and shortened to REFER_TO_LOG_MAX. */
  referTo: string;
  statusCode: number;
}

export interface CallOptions {
  /** Bound for hang-up (tests shorten it); default CALL_END_TIMEOUT_MS. */
  endTimeoutMs?: number;
  /** A call of the editor's simulator (call/simulated-call.ts): msg.call.simulated. */
  simulated?: boolean;
}

export interface CallEvents {
  state: [state: CallState, call: CallInfo];
  playback: [what: "started" | "finished", item: PlaybackItem, call: CallInfo, interrupted: boolean];
  media: [sdh: RtpSessionDescriptionHandler];
  refer: [refused: RefusedRefer, call: CallInfo];
  /** The hold state of an answered call changed (see CallHold). */
  hold: [hold: CallHold, call: CallInfo];
  /** The audio path changed (flowing, one-way, no-rtp); see media/audio-path.ts. */
  audioPath: [event: AudioPathEvent, call: CallInfo];
  /** Every CALL_QUALITY_INTERVAL_MS while answered and not held: RTCP statistics and estimated MOS. */
  quality: [quality: CallQualityInfo, call: CallInfo];
}

/** Audio that takes over the outgoing stream for a while (DTMF events or tones). */
export interface FrameOverride extends FrameSource {
  /** In-band tones are mixed with what plays; RFC 4733 events replace it. */
  readonly mix?: boolean;
}

export class Call extends EventEmitter<CallEvents> implements FrameSource {
  readonly id = crypto.randomUUID();
  readonly info: CallInfo;
  readonly playback = new PlaybackQueue();
  private overrides: FrameOverride[] = [];
  private endedBy?: { outcome?: CallOutcome; hungUpBy?: "local" | "remote"; reason?: string; statusCode?: number };
  private timers: NodeJS.Timeout[] = [];
  private endGuard?: NodeJS.Timeout;
  private readonly endTimeoutMs: number;
  private holdPending = false;
  sdh?: RtpSessionDescriptionHandler;
  private audioPath?: AudioPathWatcher;
  /** Decides about an incoming REFER (call-manager.ts, transfers allowed); without it every REFER gets 603. */
  referHandler?: (referral: Referral) => void;
  private qualityTimer?: NodeJS.Timeout;
  /** The call is ending: ENDED follows once the media's last statistics are in. */
  private ending = false;
  /** The sender pulling this call's frames ahead (the media worker's pump), if any. */
  private frameSink: FrameSink | null = null;

  constructor(
    readonly session: Session,
    direction: CallDirection,
    from: CallParty,
    to: CallParty,
    options: CallOptions = {},
  ) {
    super();
    this.endTimeoutMs = options.endTimeoutMs ?? CALL_END_TIMEOUT_MS;
    const now = new Date().toISOString();
    this.info = { id: this.id, direction, state: direction === "outbound" ? "DIALING" : "RINGING", from, to, startedAt: now, hold: false };
    if (direction === "inbound") this.info.ringingAt = now;
    if (options.simulated) this.info.simulated = true;
    this.playback.on("started", (item) => this.emit("playback", "started", item, this.snapshot(), false));
    this.playback.on("finished", (item, interrupted) => this.emit("playback", "finished", item, this.snapshot(), interrupted));
    // Pulled ahead: new audio is fetched at once, an interrupt drops what was fetched, a clip ends when heard.
    this.playback.on("queued", () => this.frameSink?.wake());
    this.playback.on("interrupted", () => this.frameSink?.flush());
    this.playback.whenPlayed = (fn) => this.whenPlayed(fn);
    session.stateChange.addListener((s) => {
      if (s === SessionState.Established) this.answered();
      // sip.js reports Terminated before it hands the final response to our delegate:
      // wait a turn so the outcome that response carries is known.
      else if (s === SessionState.Terminated) setImmediate(() => this.ended());
    });
    addSessionDelegate(session, "onBye", (bye) => {
      this.markEnd({ hungUpBy: "remote" });
      bye.accept().catch(() => undefined);
    });
    // Without this sip.js accepts a REFER (202) and dials the Refer-To target itself, with
    // the account's credentials: toll fraud. Refused unless a handler (allowed transfers) takes it.
    addSessionDelegate(session, "onRefer", (referral) => (this.referHandler ? this.referHandler(referral) : this.refuseRefer(referral)));
    if (session instanceof Invitation) this.watchAckTimeout(session);
  }

  get state(): CallState {
    return this.info.state;
  }
  get active(): boolean {
    return this.info.state !== "ENDED";
  }

  snapshot(): CallInfo {
    return { ...this.info, from: { ...this.info.from }, to: { ...this.info.to } };
  }

  /** Ties the media handler (created by sip.js when SDP is first needed) to this call. */
  attachMedia(sdh: RtpSessionDescriptionHandler): void {
    this.sdh = sdh;
    sdh.setFrameSource(this);
    sdh.on("negotiated", (media) => {
      this.info.codec = media.codec;
      this.info.srtp = media.sdes !== null;
      this.updateHold();
    });
    // The answer to our INVITE was refused (e.g. plain with SRTP mandatory): sip.js ends the call.
    sdh.on("refused", (e) => {
      if (this.state !== "ANSWERED") this.markEnd({ outcome: "codec-mismatch", reason: e.message });
    });
    sdh.on("rtp", (rtp) => {
      // The media worker stopped: this call has no media any more.
      rtp.on("failed", (reason) => void this.hangup({ outcome: "failed", reason }));
      rtp.on("timeout", () => {
        // Not before the answer: early media may stop while the call rings (RtpSession.confirm() re-arms it).
        if (this.state === "ANSWERED") void this.hangup({ outcome: "rtp-timeout", reason: "no RTP received" });
      });
      this.watchAudioPath();
    });
    this.emit("media", sdh);
  }

  /**
   * Puts the peer on hold (true: re-INVITE with a=sendonly; we keep sending, so audio played now is
   * music on hold) or resumes (false: a=sendrecv). Rejects with the hold state unchanged when the
   * peer refuses (488, 491 glare...), does not answer within HOLD_TIMEOUT_MS, or the call ends.
   */
  async setHold(hold: boolean): Promise<void> {
    const verb = hold ? "hold" : "resume";
    const sdh = this.sdh;
    if (this.state !== "ANSWERED" || !sdh) throw new Error(`${verb}: the call is ${this.state}, not ANSWERED`);
    if (this.holdPending) throw new Error(`${verb}: a hold or resume of this call is in progress`);
    if (sdh.onHold === hold) return;
    const before = sdh.onHold;
    this.holdPending = true;
    try {
      await new Promise<void>((resolve, reject) => {
        const onState = (s: CallState) => s === "ENDED" && settle("the call ended");
        const timer = setTimeout(() => settle("no answer to the re-INVITE"), HOLD_TIMEOUT_MS);
        const settle = (error?: string) => {
          clearTimeout(timer);
          this.off("state", onState);
          if (error) reject(new Error(`${verb}: ${error}`));
          else resolve();
        };
        this.on("state", onState);
        const options: RtpSdhDescriptionOptions = { hold };
        this.session
          .invite({
            sessionDescriptionHandlerOptions: options,
            requestDelegate: {
              onAccept: () => settle(),
              onReject: (r) => settle(`the peer refused (${r.message.statusCode} ${printable(r.message.reasonPhrase ?? "", REASON_MAX)})`),
            },
          })
          .catch((err: unknown) => settle(errorText(err)));
      });
    } catch (err) {
      // sip.js keeps these options for the peer's next re-INVITE: put back the state that holds.
      const kept: RtpSdhDescriptionOptions = { hold: before };
      this.session.sessionDescriptionHandlerOptionsReInvite = kept;
      throw err;
    } finally {
      this.holdPending = false;
      this.updateHold();
    }
  }

  /** Recomputes msg.call.hold from our hold option and the peer's last SDP; emits "hold" on a change. */
  private updateHold(): void {
    const local = !!this.sdh?.onHold;
    const remote = !!this.sdh?.negotiated?.hold;
    const hold: CallHold = local ? (remote ? "both" : "local") : remote ? "remote" : false;
    if (hold === this.info.hold) return;
    this.info.hold = hold;
    if (this.info.state === "ANSWERED") this.emit("hold", hold, this.snapshot());
  }

  /** Adds a temporary source (DTMF) in front of the playback. */
  addOverride(src: FrameOverride): void {
    this.overrides.push(src);
    this.frameSink?.wake();
  }

  /** FrameSource: the sender that pulls ahead (null: none, frames are sent as pulled). */
  setFrameSink(sink: FrameSink | null): void {
    this.frameSink = sink;
  }

  /** Runs `fn` once the frames handed out so far have been sent (see FrameSink.whenPlayed). */
  whenPlayed(fn: () => void): void {
    if (this.frameSink) this.frameSink.whenPlayed(fn);
    else setImmediate(fn);
  }
  removeOverride(src: FrameOverride): void {
    this.overrides = this.overrides.filter((o) => o !== src);
  }

  nextFrame(): OutgoingFrame | null {
    for (const o of this.overrides) {
      const f = o.nextFrame();
      if (!f) continue;
      if (o.mix && f.kind === "audio") {
        const base = this.playback.nextFrame();
        if (base && base.kind === "audio") {
          const mixed = new Int16Array(SAMPLES_PER_FRAME);
          for (let i = 0; i < SAMPLES_PER_FRAME; i++) mixed[i] = Math.max(-32768, Math.min(32767, (base.pcm[i] ?? 0) + (f.pcm[i] ?? 0)));
          return { kind: "audio", pcm: mixed, talkspurtStart: f.talkspurtStart };
        }
      }
      return f;
    }
    return this.playback.nextFrame();
  }

  setState(state: CallState): void {
    if (this.info.state === state || this.info.state === "ENDED") return;
    this.info.state = state;
    if (state === "RINGING") this.info.ringingAt = new Date().toISOString();
    this.emit("state", state, this.snapshot());
  }

  /**
   * Early media started (see CallInfo.earlyMedia): DIALING becomes RINGING with it; a call already
   * RINGING reports RINGING again, now with earlyMedia (unless `announce` is false: a new incoming call,
   * whose first RINGING message is still to come). Once per call.
   */
  markEarlyMedia(announce = true): void {
    if (this.info.earlyMedia || (this.info.state !== "DIALING" && this.info.state !== "RINGING")) return;
    this.info.earlyMedia = true;
    if (this.info.state === "DIALING") this.setState("RINGING");
    else if (announce) this.emit("state", "RINGING", this.snapshot());
  }

  /** Who/what ends the call, recorded before the SIP action that ends it. First word wins. */
  markEnd(end: { outcome?: CallOutcome; hungUpBy?: "local" | "remote"; reason?: string; statusCode?: number }): void {
    if (!this.endedBy) this.endedBy = end;
  }

  /**
   * Ends the call whatever its state: BYE, CANCEL or a rejection. If sip.js throws, or the
   * call has not ended within the bound, it is ended locally (media closed, ENDED, slot freed).
   */
  async hangup(end: { outcome?: CallOutcome; reason?: string; statusCode?: number } = {}): Promise<void> {
    if (!this.active) return;
    const s = this.session;
    // A call we dial and end before it is answered was cancelled (CANCEL), not failed.
    const cancelled = s instanceof Inviter && s.state !== SessionState.Established;
    this.markEnd({ hungUpBy: "local", ...(cancelled ? { outcome: "cancelled" as const } : {}), ...end });
    this.armEndGuard();
    try {
      if (s.state === SessionState.Established) await s.bye();
      else if (s instanceof Inviter) await s.cancel();
      else if (s instanceof Invitation) await s.reject({ statusCode: end.statusCode ?? 603 });
      else await s.dispose();
    } catch (err) {
      await this.endLocally(`hang-up failed: ${errorText(err)}`);
    }
  }

  /**
   * Ends the call on our side only: sip.js could not (or did not in time). Disposing the
   * session removes it from sip.js's table; media is closed even if that fails.
   */
  async endLocally(reason: string): Promise<void> {
    if (!this.active) return;
    this.markEnd({ hungUpBy: "local" });
    if (this.endedBy && !this.endedBy.reason) this.endedBy.reason = reason;
    try {
      this.sdh?.close();
    } catch {
      /* closing is best effort; the call ends anyway */
    }
    let disposal: Promise<void> = Promise.resolve();
    try {
      disposal = this.session.dispose().catch(() => undefined);
    } catch {
      /* idem */
    }
    this.ended();
    // dispose may wait for a BYE answer: do not hold the caller longer than a moment.
    await Promise.race([disposal, new Promise<void>((r) => setTimeout(r, 100).unref())]);
  }

  private armEndGuard(): void {
    if (this.endGuard) return;
    this.endGuard = setTimeout(() => {
      this.endGuard = undefined;
      void this.endLocally(`not ended within ${Math.round(this.endTimeoutMs / 1000)} s`);
    }, this.endTimeoutMs);
  }

  /** Answers a REFER with a refusal (603 by default) and reports it ("refer" event). */
  refuseRefer(referral: Referral, statusCode = 603): void {
    let referTo = "";
    try {
      referTo = referral.request.getHeader("refer-to") ?? "";
    } catch {
      /* unparsable: still refused */
    }
    try {
      // reject() is async: a failure to send must not become an unhandled rejection.
      referral.reject({ statusCode }).catch(() => undefined);
    } catch {
      /* transaction gone: nothing to answer */
    }
    this.emit("refer", { referTo: printable(referTo, REFER_TO_LOG_MAX), statusCode }, this.snapshot());
  }

  /**
   * A 200 that is never ACKed: sip.js's onAckTimeout (64·T1) sends BYE and may throw before it
   * ends the session. Record why, and end locally if sip.js fails.
   */
  private watchAckTimeout(inv: Invitation): void {
    interceptAckTimeout(
      inv,
      () => this.markEnd({ outcome: "failed", hungUpBy: "local", reason: "no ACK" }),
      (err) => void this.endLocally(`no ACK; BYE failed: ${errorText(err)}`),
    );
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    this.timers.push(t);
  }

  private answered(): void {
    this.info.answeredAt = new Date().toISOString();
    this.setState("ANSWERED");
    this.watchAudioPath();
  }

  /** Once answered and with RTP open: report changes of the audio path (at most one watcher per call). */
  private watchAudioPath(): void {
    const rtp = this.sdh?.rtp;
    if (this.audioPath || !rtp || this.info.state !== "ANSWERED") return;
    this.audioPath = new AudioPathWatcher(
      () => (rtp.isClosed || !this.active ? null : rtpAudioPathSample(rtp)),
      (event) => this.emit("audioPath", event, this.snapshot()),
    );
    this.audioPath.start();
    this.watchQuality();
  }

  /** The periodic quality report of an answered call with media; none while either side holds (one-way RTP is normal then). */
  private watchQuality(): void {
    const sdh = this.sdh;
    if (this.qualityTimer || !sdh) return;
    this.qualityTimer = setInterval(() => {
      const rtp = sdh.rtp;
      const rtcp = sdh.rtcp;
      if (!rtp || !rtcp || rtp.isClosed || !this.active) {
        clearInterval(this.qualityTimer); // media gone: nothing more to report
        return;
      }
      if (rtpAudioPathSample(rtp).held) return;
      try {
        this.emit("quality", rtcp.quality(), this.snapshot());
      } catch {
        // a failing listener must not escape into the timer (it would end the process)
      }
    }, CALL_QUALITY_INTERVAL_MS);
  }

  private ended(): void {
    if (this.info.state === "ENDED" || this.ending) return;
    this.ending = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.endGuard) clearTimeout(this.endGuard);
    this.endGuard = undefined;
    this.playback.stop();
    this.overrides = [];
    this.audioPath?.stop();
    clearInterval(this.qualityTimer);
    // The media worker's statistics are a mirror: bring them up to date (a bounded wait) for ENDED.
    const fresh = this.sdh?.rtp?.freshStats?.();
    if (fresh) void fresh.then(() => this.reportEnded());
    else this.reportEnded();
  }

  /** ENDED, with the call's statistics, quality and outcome. */
  private reportEnded(): void {
    const rtp = this.sdh?.rtp;
    if (rtp) this.info.stats = rtp.callStats();
    const rtcp = this.sdh?.rtcp;
    if (rtcp) this.info.quality = rtcp.quality();
    const end = this.endedBy ?? {};
    const wasAnswered = !!this.info.answeredAt;
    this.info.endedAt = new Date().toISOString();
    if (wasAnswered) {
      this.info.durationSeconds = Math.round((Date.parse(this.info.endedAt) - Date.parse(this.info.answeredAt!)) / 100) / 10;
    }
    this.info.outcome = end.outcome ?? (wasAnswered ? "completed" : this.info.direction === "inbound" ? "cancelled" : "failed");
    if (wasAnswered || end.hungUpBy) this.info.hungUpBy = end.hungUpBy ?? "remote";
    if (end.reason) this.info.reason = end.reason;
    if (end.statusCode) this.info.statusCode = end.statusCode;
    this.info.state = "ENDED";
    this.emit("state", "ENDED", this.snapshot());
  }
}

function errorText(err: unknown): string {
  return printable(err instanceof Error ? err.message : String(err), 200);
}

/** Remote-controlled text made safe for a log line: printable ASCII, shortened. */
export function printable(text: string, max: number): string {
  const clean = String(text).replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? clean.slice(0, max - 1) + "…" : clean;
}
