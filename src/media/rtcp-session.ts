// RTCP on the wire for one call (RFC 3550 section 6): where the peer's reports come from and
// whether we believe them, when ours go out (rtcp-interval.ts), and the final BYE. The packets,
// statistics and quality figures are the RtcpMonitor's (rtcp-monitor.ts) that the RTP session feeds;
// the sockets are the RTP session's (RTP port + 1, or the RTP port itself with rtcp-mux, RFC 5761).
//
// Trust is the RTP's (issue 8): a report is read only from the RTCP address the peer's SDP gives
// (a=rtcp, RFC 3605; else RTP port + 1; the RTP address with rtcp-mux), or, in "latch" mode after the
// dialog is confirmed, from the IP of the media peer (the latched RTP source when there is one),
// which is then the one RTCP source. Everything else is dropped unread and counted.
//
// Every packet in and out passes a transform (protect/unprotect): identity here, SRTCP (RFC 3711)
// when the call's media is encrypted; a transform returning null drops the packet.

import { systemClock, type Clock } from "../clock";
import type { CallQualityInfo, RtpSecurity } from "../types";
import { rtcpIntervalMs } from "./rtcp-interval";
import { acceptSource, isUnspecified, normalizeIp, type RtcpReceiver, type RtcpTransform, type RtpEndpoint, type RtpSession } from "./rtp-session";

export type { RtcpTransform };

/** Plain RTCP: packets pass unchanged. */
export const IDENTITY_RTCP_TRANSFORM: RtcpTransform = Object.freeze({ protect: (p: Buffer) => p, unprotect: (p: Buffer) => p });

/** Where the peer takes and sends its RTCP, from its SDP (see sdp.ts NegotiatedMedia.rtcp). */
export interface RtcpPeer {
  /** rtcp-mux negotiated: RTCP shares the RTP address and port. */
  mux: boolean;
  /** The peer's RTCP address and port without mux (a=rtcp, else the RTP address and port + 1). */
  address: string;
  port: number;
}

/** What an RTCP session needs of the RTP session (its sockets, state and statistics). */
export type RtcpCarrier = Pick<RtpSession, "rtcpMonitor" | "remote" | "latched" | "confirmed" | "isClosed" | "sendRtcp"> & {
  rtcpReceiver: RtcpReceiver | null;
};

export interface RtcpSessionOptions {
  /** The RTP source policy, applied to RTCP too; default "latch". */
  security?: RtpSecurity;
  /** IPs of the signalling peers (as for RTP latching). */
  signallingHosts?: () => readonly string[];
  /** Timers (tests); default systemClock. */
  clock?: Clock;
  /** Randomisation of the report interval (tests); default Math.random. */
  random?: () => number;
}

export class RtcpSession {
  private readonly security: RtpSecurity;
  private readonly signallingHosts: () => readonly string[];
  private readonly clock: Clock;
  private readonly random: (() => number) | undefined;
  private transform: RtcpTransform = IDENTITY_RTCP_TRANSFORM;
  private peer: RtcpPeer | null = null;
  private latch: RtpEndpoint | null = null;
  private timer: unknown = null;
  private closed = false;
  private sent = 0;
  private ignored = 0;

  constructor(
    private readonly rtp: RtcpCarrier,
    options: RtcpSessionOptions = {},
  ) {
    this.security = options.security === "strict" ? "strict" : "latch";
    this.signallingHosts = options.signallingHosts ?? (() => []);
    this.clock = options.clock ?? systemClock;
    this.random = options.random;
    rtp.rtcpReceiver = (packet, from, muxed) => this.receive(packet, from, muxed);
    this.schedule(true);
  }

  /** The SRTCP pair of an encrypted call (identity by default). */
  setTransform(transform: RtcpTransform): void {
    this.transform = transform;
  }

  /** The peer's RTCP address from the latest offer/answer; a new address is latched afresh. */
  setPeer(peer: RtcpPeer): void {
    const prev = this.peer;
    if (prev && (prev.mux !== peer.mux || prev.address !== peer.address || prev.port !== peer.port)) this.latch = null;
    this.peer = { ...peer };
  }

  get mux(): boolean {
    return this.peer?.mux ?? false;
  }

  /** Where our reports go now, or null: only to a confirmed dialog's media peer (never a third party named in an SDP). */
  get target(): RtpEndpoint | null {
    const peer = this.peer;
    const remote = this.rtp.remote;
    if (!peer || !remote || !this.rtp.confirmed || this.rtp.isClosed) return null;
    if (this.latch) return this.latch;
    const to = peer.mux ? (this.rtp.latched ?? { address: remote.address, port: remote.port }) : { address: peer.address, port: peer.port };
    return to.port === 0 || isUnspecified(to.address) ? null : to;
  }

  quality(): CallQualityInfo {
    return { ...this.rtp.rtcpMonitor.quality(), rtcpSent: this.sent, rtcpIgnored: this.ignored, rtcpMux: this.mux };
  }

  /** Sends the last report with a BYE (section 6.3.7) if there is anyone to send it to, and stops. Safe to repeat. */
  close(reason?: string): void {
    if (this.closed) return;
    this.sendReport(true, reason);
    this.closed = true;
    this.stopTimer();
    if (this.rtp.rtcpReceiver) this.rtp.rtcpReceiver = null;
  }

  private stopTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(initial: boolean): void {
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        if (this.closed || this.rtp.isClosed) return;
        this.sendReport(false);
        this.schedule(false);
      },
      rtcpIntervalMs({ initial, random: this.random }),
    );
    // A report timer never keeps the process alive on its own.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  private sendReport(bye: boolean, reason?: string): void {
    try {
      const target = this.target;
      if (!target) return;
      const packet = this.transform.protect(this.rtp.rtcpMonitor.buildReport({ bye, reason }));
      if (packet && this.rtp.sendRtcp(packet, target, this.mux)) this.sent++;
    } catch {
      // A failing transform or a closed socket costs one report, never the call.
    }
  }

  private receive(packet: Buffer, from: RtpEndpoint, muxed: boolean): void {
    if (this.closed || !this.accept(from, muxed)) {
      this.ignored++;
      return;
    }
    let plain: Buffer | null = null;
    try {
      plain = this.transform.unprotect(packet);
    } catch {
      plain = null;
    }
    if (!plain) {
      this.ignored++;
      return;
    }
    // Parsed defensively; a broken compound is counted as rtcpInvalid by the monitor.
    this.rtp.rtcpMonitor.onRtcp(plain);
  }

  /** The RTP source policy applied to RTCP (see the top of this file). Latches the accepted source. */
  private accept(from: RtpEndpoint, muxed: boolean): boolean {
    const peer = this.peer;
    const remote = this.rtp.remote;
    if (!peer || !remote || muxed !== peer.mux) return false;
    const rtpLatched = this.rtp.latched;
    const confirmed = this.rtp.confirmed;
    const verdict = acceptSource({
      from,
      sdp: peer.mux ? { address: remote.address, port: remote.port } : { address: peer.address, port: peer.port },
      // With mux the RTP's latched source is the only one; without, RTCP latches its own port.
      latched: this.latch ?? (peer.mux ? rtpLatched : null),
      security: this.security,
      confirmed,
      signallingHosts: this.security === "latch" && confirmed && !this.latch ? this.hosts() : [],
    });
    if (verdict === "drop") return false;
    if (verdict === "latch") {
      // Once RTP chose its source, RTCP must come from that same host.
      if (rtpLatched && normalizeIp(rtpLatched.address) !== normalizeIp(from.address)) return false;
      this.latch = { ...from };
    }
    return true;
  }

  private hosts(): readonly string[] {
    try {
      return this.signallingHosts();
    } catch {
      return [];
    }
  }
}
