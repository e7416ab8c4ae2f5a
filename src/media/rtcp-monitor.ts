// One call's RTCP state without sockets or timers: the statistics of both directions, what the
// peer's RTCP packets tell us, the compound reports we send, and the call-quality summary for
// msg.call. The RTP session feeds it packets and sends what buildReport() returns every
// rtcpIntervalMs(); nothing here touches the network, so it is tested with synthetic streams.

import type { Clock } from "../clock";
import type { CallQualityInfo } from "../types";
import { estimateCallQuality } from "./call-quality";
import { buildCompoundReport, parseRtcp, sdesCname, type RtcpReportBlock } from "./rtcp";
import { RtpReceiveStats, RtpSendStats, type RtpPacketFacts } from "./rtp-receive-stats";

export interface RtcpMonitorOptions {
  /** Our RTP SSRC. */
  ssrc: number;
  /** Our CNAME (e.g. "user@host"); at most 255 octets of UTF-8 (an SDES item). */
  cname: string;
  clockRate?: number;
  clock?: Pick<Clock, "now">;
  /** Assume the listeners conceal lost frames (see call-quality.ts); default false. */
  plc?: boolean;
  /** Packetisation time in ms; default 20. */
  frameMs?: number;
}

/**
 * What the monitor knows of a call's quality: msg.call.quality (src/types.ts CallQualityInfo) less
 * the RTCP transport's own counters, which the RTCP session adds.
 */
export type CallQualityReport = Omit<CallQualityInfo, "rtcpSent" | "rtcpIgnored" | "rtcpMux">;

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export class RtcpMonitor {
  readonly rx: RtpReceiveStats;
  readonly tx: RtpSendStats;
  private readonly cname: string;
  private readonly plc: boolean;
  private readonly frameMs: number | undefined;
  private received = 0;
  private invalid = 0;
  private bye = false;
  private cnameOfPeer: string | undefined;

  constructor(opts: RtcpMonitorOptions) {
    this.rx = new RtpReceiveStats({ clockRate: opts.clockRate, clock: opts.clock });
    this.tx = new RtpSendStats({ ssrc: opts.ssrc, clockRate: opts.clockRate, clock: opts.clock });
    this.cname = opts.cname;
    this.plc = opts.plc ?? false;
    this.frameMs = opts.frameMs;
  }

  /** A received RTP packet (after the RTP session accepted it). */
  onRtpReceived(p: RtpPacketFacts): void {
    this.rx.onPacket(p);
  }

  /** An RTP packet we sent: payload octets and its timestamp. */
  onRtpSent(payloadBytes: number, rtpTimestamp: number): void {
    this.tx.onPacketSent(payloadBytes, rtpTimestamp);
  }

  /**
   * A datagram from the peer's RTCP address (or the muxed port). Returns false when it is not
   * valid RTCP. Never throws. Only an SR from the source we receive sets LSR; only blocks about
   * our SSRC count (RtpSendStats checks that).
   */
  onRtcp(buf: Buffer): boolean {
    const packets = parseRtcp(buf);
    if (!packets) {
      this.invalid++;
      return false;
    }
    this.received++;
    const source = this.rx.ssrc;
    for (const p of packets) {
      if (p.type === "sr" || p.type === "rr") {
        if (p.type === "sr" && source !== null && p.ssrc === source) {
          this.rx.onSenderReport(p.ssrc, { sec: p.sender.ntpSec, frac: p.sender.ntpFrac });
        }
        for (const b of p.reports) this.tx.onReportBlock(b);
      } else if (p.type === "sdes") {
        const chunk = p.chunks.find((c) => c.ssrc === source);
        const name = chunk && sdesCname(chunk);
        if (name !== undefined) this.cnameOfPeer = name;
      } else if (p.type === "bye") {
        if (source !== null && p.ssrcs.includes(source)) this.bye = true;
      }
    }
    return true;
  }

  /** The peer said goodbye (RTCP BYE for the source we receive). */
  get peerSentBye(): boolean {
    return this.bye;
  }

  /** The CNAME the peer announced for the stream we receive, if any. */
  get peerCname(): string | undefined {
    return this.cnameOfPeer;
  }

  /** The compound report to send now (SR or RR, SDES CNAME, and BYE when the call ends). */
  buildReport(opts: { bye?: boolean; reason?: string } = {}): Buffer {
    const block = this.rx.reportBlock();
    const reports: RtcpReportBlock[] = block ? [block] : [];
    return buildCompoundReport({
      ssrc: this.tx.ssrc,
      cname: this.cname,
      sender: this.tx.nextSenderInfo(),
      reports,
      bye: opts.bye ? { reason: opts.reason } : undefined,
    });
  }

  /** The summary for msg.call (at ENDED) and the periodic "media" message. */
  quality(): CallQualityReport {
    const snap = this.rx.snapshot();
    const remote = this.tx.remoteView();
    const rttMs = remote?.rttMs ?? null;
    const common = { rttMs, plc: this.plc, frameMs: this.frameMs };
    const mosIn = snap ? estimateCallQuality({ ...common, lossFraction: snap.lossFraction, jitterMs: snap.jitterMs }).mos : null;
    const mosOut = remote ? estimateCallQuality({ ...common, lossFraction: remote.fractionLost, jitterMs: remote.jitterMs }).mos : null;
    const both = [mosIn, mosOut].filter((m): m is number => m !== null);
    return {
      mos: both.length ? Math.min(...both) : null,
      mosIn,
      mosOut,
      packetsReceived: snap?.packetsReceived ?? 0,
      packetsLost: Math.max(0, snap?.packetsLost ?? 0),
      lossPercent: round((snap?.lossFraction ?? 0) * 100, 2),
      jitterMs: round(snap?.jitterMs ?? 0, 1),
      rttMs: rttMs === null ? null : round(rttMs, 1),
      remoteLossPercent: remote ? round(remote.fractionLost * 100, 2) : null,
      remoteJitterMs: remote ? round(remote.jitterMs, 1) : null,
      packetsSent: this.tx.packetCount,
      rtcpReceived: this.received,
      rtcpInvalid: this.invalid,
    };
  }
}
