// One call: its state (DIALING, RINGING, ANSWERED, ENDED), how it ended, and
// what it plays. Wraps a sip.js Invitation (inbound) or Inviter (outbound).

import { EventEmitter } from "events";
import crypto from "crypto";
import { Invitation, Inviter, Session, SessionState } from "sip.js";
import type { RtpSessionDescriptionHandler } from "../media/session-description-handler";
import type { FrameSource, OutgoingFrame } from "../media/rtp-session";
import { CallDirection, CallInfo, CallOutcome, CallParty, CallState } from "../types";
import { PlaybackItem, PlaybackQueue } from "./playback-queue";

export interface CallEvents {
  state: [state: CallState, call: CallInfo];
  playback: [what: "started" | "finished", item: PlaybackItem, call: CallInfo, interrupted: boolean];
  media: [sdh: RtpSessionDescriptionHandler];
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
  sdh?: RtpSessionDescriptionHandler;

  constructor(readonly session: Session, direction: CallDirection, from: CallParty, to: CallParty) {
    super();
    const now = new Date().toISOString();
    this.info = { id: this.id, direction, state: direction === "outbound" ? "DIALING" : "RINGING", from, to, startedAt: now };
    if (direction === "inbound") this.info.ringingAt = now;
    this.playback.on("started", (item) => this.emit("playback", "started", item, this.snapshot(), false));
    this.playback.on("finished", (item, interrupted) => this.emit("playback", "finished", item, this.snapshot(), interrupted));
    session.stateChange.addListener((s) => {
      if (s === SessionState.Established) this.answered();
      // sip.js reports Terminated before it hands the final response to our delegate:
      // wait a turn so the outcome that response carries is known.
      else if (s === SessionState.Terminated) setImmediate(() => this.ended());
    });
    session.delegate = { ...session.delegate, onBye: (bye) => { this.markEnd({ hungUpBy: "remote" }); bye.accept().catch(() => undefined); } };
  }

  get state(): CallState { return this.info.state; }
  get active(): boolean { return this.info.state !== "ENDED"; }

  snapshot(): CallInfo {
    return { ...this.info, from: { ...this.info.from }, to: { ...this.info.to } };
  }

  /** Ties the media handler (created by sip.js when SDP is first needed) to this call. */
  attachMedia(sdh: RtpSessionDescriptionHandler): void {
    this.sdh = sdh;
    sdh.setFrameSource(this);
    sdh.on("negotiated", (media) => { this.info.codec = media.codec; });
    sdh.on("rtp", (rtp) => {
      rtp.on("timeout", () => { void this.hangup({ outcome: "rtp-timeout", reason: "no RTP received" }); });
    });
    this.emit("media", sdh);
  }

  /** Adds a temporary source (DTMF) in front of the playback. */
  addOverride(src: FrameOverride): void { this.overrides.push(src); }
  removeOverride(src: FrameOverride): void { this.overrides = this.overrides.filter((o) => o !== src); }

  nextFrame(): OutgoingFrame | null {
    for (const o of this.overrides) {
      const f = o.nextFrame();
      if (!f) continue;
      if (o.mix && f.kind === "audio") {
        const base = this.playback.nextFrame();
        if (base && base.kind === "audio") {
          const mixed = new Int16Array(160);
          for (let i = 0; i < 160; i++) mixed[i] = Math.max(-32768, Math.min(32767, (base.pcm[i] ?? 0) + (f.pcm[i] ?? 0)));
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

  /** Who/what ends the call, recorded before the SIP action that ends it. First word wins. */
  markEnd(end: { outcome?: CallOutcome; hungUpBy?: "local" | "remote"; reason?: string; statusCode?: number }): void {
    if (!this.endedBy) this.endedBy = end;
  }

  /** Ends the call whatever its state: BYE, CANCEL or a rejection. */
  async hangup(end: { outcome?: CallOutcome; reason?: string; statusCode?: number } = {}): Promise<void> {
    if (!this.active) return;
    this.markEnd({ hungUpBy: "local", ...end });
    const s = this.session;
    try {
      if (s.state === SessionState.Established) await s.bye();
      else if (s instanceof Inviter) await s.cancel();
      else if (s instanceof Invitation) await s.reject({ statusCode: end.statusCode ?? 603 });
      else await s.dispose();
    } catch {
      await s.dispose().catch(() => undefined);
    }
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    this.timers.push(t);
  }

  private answered(): void {
    this.info.answeredAt = new Date().toISOString();
    this.setState("ANSWERED");
  }

  private ended(): void {
    if (this.info.state === "ENDED") return;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.playback.stop();
    this.overrides = [];
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
