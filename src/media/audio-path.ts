// Is audio getting through? Watches an RTP session's packet counters over a sliding window and
// tells, on change only, whether media flows both ways, one way only, or not at all: one-way audio
// (NAT, firewall, a wrong c= address) is the first complaint of every SIP user, and this makes it
// visible. While either side holds the call (direction not sendrecv) one-way media is normal:
// nothing is judged then, and the window starts afresh on resume.

import { systemClock, type Clock } from "../clock";
import { canReceive, canSend } from "./direction";
import { isUnspecified, type RtpSession, type RtpSessionStats } from "./rtp-session";

/** How the audio path looks over the last window. */
export type AudioPathState = "flowing" | "one-way" | "no-rtp";
/** Which way a one-way path works: "send-only" = we send, nothing arrives; "receive-only" = the reverse. */
export type OneWayDirection = "send-only" | "receive-only";

/** One RTP address:port. */
export interface AudioPathEndpoint {
  address: string;
  port: number;
}

/** What a change of the audio path reports. */
export interface AudioPathEvent {
  state: AudioPathState;
  /** Only with "one-way". */
  direction?: OneWayDirection;
  /** Where our RTP goes (the latched source, else the peer's SDP address), if anywhere. */
  remote: AudioPathEndpoint | null;
  /** Packets sent and received during the window judged. */
  sent: number;
  received: number;
}

/** The counters and media state read at each check. */
export interface AudioPathSample {
  /** Total RTP packets sent and received (accepted) so far. */
  sent: number;
  received: number;
  /** Either side holds the call, or the stream is inactive: one-way media is expected. */
  held: boolean;
  remote: AudioPathEndpoint | null;
}

/** A path that sends or receives nothing for this long is one-way (or has no RTP). */
export const AUDIO_PATH_WINDOW_MS = 2000;
/** How often the counters are read. */
export const AUDIO_PATH_CHECK_MS = 500;
/** Most audio-path events per call: a flapping path must not flood the flow; the watcher stops after. */
export const AUDIO_PATH_MAX_EVENTS = 8;

/**
 * The sample of an RTP session: its counters, where it sends (the latched source, else the SDP's
 * address), and whether the stream is held (not sendrecv, or a hold address/port 0).
 */
export function rtpAudioPathSample(
  rtp: Pick<RtpSession, "remote" | "latched"> & { stats(): Pick<RtpSessionStats, "packetsSent" | "packetsReceived"> },
): AudioPathSample {
  const remote = rtp.remote;
  const c = rtp.stats();
  const held = !remote || !canSend(remote.direction) || !canReceive(remote.direction) || remote.port === 0 || isUnspecified(remote.address);
  const to = rtp.latched ?? (remote ? { address: remote.address, port: remote.port } : null);
  return { sent: c.packetsSent, received: c.packetsReceived, held, remote: to };
}

export interface AudioPathOptions {
  clock?: Clock;
  windowMs?: number;
  checkMs?: number;
  maxEvents?: number;
}

/**
 * Reads `sample()` every checkMs. "flowing" is reported as soon as packets went both ways within
 * the window; "one-way" and "no-rtp" only after a whole window (so a slow start is not a fault).
 * Emits on change only, at most maxEvents times. `sample` returning null (media gone) stops it.
 */
export class AudioPathWatcher {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly checkMs: number;
  private readonly maxEvents: number;
  /** Samples within the window, oldest first (at most windowMs / checkMs + 2). */
  private history: Array<{ at: number; sent: number; received: number }> = [];
  private last: { state: AudioPathState; direction?: OneWayDirection } | null = null;
  private emitted = 0;
  private timer: unknown = null;
  private stopped = false;

  constructor(
    private readonly sample: () => AudioPathSample | null,
    private readonly onEvent: (event: AudioPathEvent) => void,
    options: AudioPathOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.windowMs = Math.max(1, options.windowMs ?? AUDIO_PATH_WINDOW_MS);
    this.checkMs = Math.max(1, options.checkMs ?? AUDIO_PATH_CHECK_MS);
    this.maxEvents = Math.max(0, options.maxEvents ?? AUDIO_PATH_MAX_EVENTS);
  }

  /** The last state reported, if any. */
  get state(): AudioPathState | null {
    return this.last?.state ?? null;
  }

  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.check();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.history = [];
  }

  private check(): void {
    this.timer = null;
    if (this.stopped) return;
    let s: AudioPathSample | null = null;
    try {
      s = this.sample();
    } catch {
      s = null;
    }
    if (!s) {
      this.stop();
      return;
    }
    const now = this.clock.now();
    if (s.held) {
      // Held media is one-way by design: judge nothing, start a new window on resume.
      this.history = [];
    } else {
      this.history.push({ at: now, sent: s.sent, received: s.received });
      // Keep the newest sample that is at least a window old as the base, drop older ones.
      while (this.history.length > 1 && now - this.history[1].at >= this.windowMs) this.history.shift();
      this.judge(s, now);
    }
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => this.check(), this.checkMs);
  }

  private judge(s: AudioPathSample, now: number): void {
    const base = this.history[0];
    const sent = s.sent - base.sent;
    const received = s.received - base.received;
    const full = now - base.at >= this.windowMs;
    let next: { state: AudioPathState; direction?: OneWayDirection } | null = null;
    if (sent > 0 && received > 0) next = { state: "flowing" };
    else if (!full) return;
    else if (sent > 0) next = { state: "one-way", direction: "send-only" };
    else if (received > 0) next = { state: "one-way", direction: "receive-only" };
    else next = { state: "no-rtp" };
    if (this.last && this.last.state === next.state && this.last.direction === next.direction) return;
    this.last = next;
    this.emitted++;
    const event: AudioPathEvent = { state: next.state, remote: s.remote ? { address: s.remote.address, port: s.remote.port } : null, sent, received };
    if (next.direction) event.direction = next.direction;
    try {
      this.onEvent(event);
    } catch {
      // a listener's failure must not stop the watcher's timer chain silently in a half state
    }
    if (this.emitted >= this.maxEvents) this.stop();
  }
}
