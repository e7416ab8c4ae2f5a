// The statistics behind RTCP report blocks (RFC 3550 Appendix A) and the round-trip time of
// section 6.4.1, kept apart from sockets so they can be tested with synthetic streams:
//
//   RtpReceiveStats  receiver side, per remote source: source validation with probation (A.1),
//                    extended highest sequence across wrap, cumulative and fraction lost (A.3),
//                    interarrival jitter (A.8), LSR/DLSR of the last SR heard from the source.
//   RtpSendStats     sender side: packet and octet counters for our SR, our SR history, and the
//                    peer's report blocks about us (its view of loss and jitter, and the RTT).
//
// Time comes from an injectable clock in milliseconds on the Unix epoch scale (NTP timestamps are
// derived from it); the default is the monotonic performance clock anchored at timeOrigin.

import type { Clock } from "../clock";
import { SAMPLE_RATE } from "./audio-format";
import {
  clampCumulativeLost,
  ntpFromUnixMs,
  ntpMiddle32,
  secondsToNtpShort,
  type NtpTimestamp,
  type RtcpReportBlock,
  type RtcpSenderInfo,
} from "./rtcp";

/** A.1: a jump ahead of more than this many sequence numbers is not taken as loss but as a restart. */
export const RTP_MAX_DROPOUT = 3000;
/** A.1: a packet up to this many sequence numbers behind is a late or duplicate packet. */
export const RTP_MAX_MISORDER = 100;
/** A.1: consecutive packets needed before a new source is believed (probation). */
export const RTP_MIN_SEQUENTIAL = 2;
/** Sender reports we remember (their NTP middle 32 bits) to check the LSR of a returned block. */
export const RTCP_SR_HISTORY = 8;
/**
 * A round trip longer than this is discarded as stale or forged rather than reported: the LSR of
 * a report block matches one of our recent SRs, so only a very late block could exceed it.
 */
export const RTCP_MAX_PLAUSIBLE_RTT_MS = 10_000;

const RTP_SEQ_MOD = 0x10000;
const TWO_32 = 2 ** 32;

/** Milliseconds on the Unix epoch scale that do not go backwards within a call. */
const statsClock: Pick<Clock, "now"> = {
  now: () => performance.timeOrigin + performance.now(),
};

/** The fields of an RTP packet the statistics need (an RtpPacket from rtp-packet.ts fits). */
export interface RtpPacketFacts {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
}

/** Sequence state of one source, Appendix A.1 and A.3, with jitter (A.8). */
class SourceState {
  maxSeq: number;
  cycles = 0;
  baseSeq: number;
  badSeq = RTP_SEQ_MOD + 1; // so seq == badSeq is false
  probation = RTP_MIN_SEQUENTIAL;
  received = 0;
  expectedPrior = 0;
  receivedPrior = 0;
  /** Relative transit time of the previous packet in timestamp units (A.8); null before the first. */
  transit: number | null = null;
  jitter = 0;

  constructor(
    readonly ssrc: number,
    seq: number,
  ) {
    this.baseSeq = seq;
    this.maxSeq = (seq - 1) & 0xffff;
  }

  get valid(): boolean {
    return this.probation === 0;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
    // A restart is a new timeline: the next transit difference would be meaningless.
    this.transit = null;
  }

  /** A.1 update_seq: true when the packet counts (source valid and sequence plausible). */
  updateSeq(seq: number): boolean {
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      // The source is believed only after RTP_MIN_SEQUENTIAL packets in sequence.
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = RTP_MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    }
    if (udelta < RTP_MAX_DROPOUT) {
      // In order, with permissible gap; a smaller number means the 16-bit counter wrapped.
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - RTP_MAX_MISORDER) {
      // A very large jump: two in a row mean the sender restarted its sequence.
      if (seq === this.badSeq) {
        this.initSeq(seq);
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received (A.3 lets "lost" go negative).
    this.received++;
    return true;
  }

  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  get expected(): number {
    return this.extendedMax - this.baseSeq + 1;
  }

  /** A.8: J += (|D| - J) / 16, with D the change in relative transit time, in timestamp units. */
  updateJitter(arrivalTs: number, rtpTimestamp: number): void {
    const transit = arrivalTs - rtpTimestamp;
    if (this.transit !== null) {
      // RTP timestamps are modulo 2^32: take the difference nearest to zero in that ring.
      const raw = transit - this.transit;
      const d = raw - TWO_32 * Math.round(raw / TWO_32);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.transit = transit;
  }
}

export interface ReceiveSnapshot {
  ssrc: number;
  /** Packets received (duplicates included, as in A.3). */
  packetsReceived: number;
  /** Packets expected from the first to the extended highest sequence number. */
  packetsExpected: number;
  /** Expected minus received since the start; negative with duplicates. */
  packetsLost: number;
  /** Lost / expected since the start, 0-1 (0 when nothing is expected or with duplicates). */
  lossFraction: number;
  /** Extended highest sequence number. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Interarrival jitter in milliseconds. */
  jitterMs: number;
}

export interface RtpReceiveStatsOptions {
  /** RTP clock rate of the stream (8000 for G.711). */
  clockRate?: number;
  /** Milliseconds on the Unix epoch scale; must not go backwards within a call. */
  clock?: Pick<Clock, "now">;
}

/**
 * Receiver statistics for the one remote stream of a call. A packet from another SSRC does not
 * wipe the current source: it starts a candidate (at most one, replaced by the next stranger) that
 * takes over only after passing probation, as when the peer restarts its stream or a PBX switches
 * media. A lone forged or stray packet therefore changes nothing.
 */
export class RtpReceiveStats {
  private readonly clockRate: number;
  private readonly clock: Pick<Clock, "now">;
  private current: SourceState | null = null;
  private candidate: SourceState | null = null;
  private lastSr: { ssrc: number; lsr: number; atMs: number } | null = null;

  constructor(opts: RtpReceiveStatsOptions = {}) {
    this.clockRate = opts.clockRate ?? SAMPLE_RATE;
    this.clock = opts.clock ?? statsClock;
  }

  /** SSRC of the validated source, or null while none has passed probation. */
  get ssrc(): number | null {
    return this.current?.valid ? this.current.ssrc : null;
  }

  /** Accounts one received RTP packet. Returns true when it counted for the current source. */
  onPacket(p: RtpPacketFacts): boolean {
    const ssrc = p.ssrc >>> 0;
    const seq = p.sequenceNumber & 0xffff;
    let src: SourceState;
    if (this.current === null || (!this.current.valid && this.current.ssrc !== ssrc)) {
      // Nothing validated yet: the newest source simply starts over.
      this.current = new SourceState(ssrc, seq);
      this.candidate = null;
      src = this.current;
    } else if (this.current.ssrc === ssrc) {
      src = this.current;
    } else {
      if (this.candidate === null || this.candidate.ssrc !== ssrc) this.candidate = new SourceState(ssrc, seq);
      src = this.candidate;
    }
    if (!src.updateSeq(seq)) return false;
    if (src === this.candidate) {
      this.current = src;
      this.candidate = null;
    }
    src.updateJitter((this.clock.now() * this.clockRate) / 1000, p.timestamp >>> 0);
    return true;
  }

  /** Records a sender report from the peer so the next report block carries LSR/DLSR. */
  onSenderReport(ssrc: number, ntp: NtpTimestamp): void {
    this.lastSr = { ssrc: ssrc >>> 0, lsr: ntpMiddle32(ntp), atMs: this.clock.now() };
  }

  /** Current statistics without side effects; null while no source is validated. */
  snapshot(): ReceiveSnapshot | null {
    const s = this.current;
    if (!s?.valid) return null;
    const expected = s.expected;
    const lost = expected - s.received;
    return {
      ssrc: s.ssrc,
      packetsReceived: s.received,
      packetsExpected: expected,
      packetsLost: lost,
      lossFraction: expected > 0 && lost > 0 ? lost / expected : 0,
      highestSeq: s.extendedMax >>> 0,
      jitter: s.jitter,
      jitterMs: (s.jitter * 1000) / this.clockRate,
    };
  }

  /**
   * The report block for our next SR/RR (A.3). Starts a new reporting interval: call once per
   * report sent. Null while no source is validated.
   */
  reportBlock(): RtcpReportBlock | null {
    const s = this.current;
    if (!s?.valid) return null;
    const expected = s.expected;
    const expectedInterval = expected - s.expectedPrior;
    s.expectedPrior = expected;
    const receivedInterval = s.received - s.receivedPrior;
    s.receivedPrior = s.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    let lsr = 0;
    let dlsr = 0;
    if (this.lastSr && this.lastSr.ssrc === s.ssrc) {
      lsr = this.lastSr.lsr;
      dlsr = secondsToNtpShort(Math.max(0, this.clock.now() - this.lastSr.atMs) / 1000);
    }
    return {
      ssrc: s.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: clampCumulativeLost(expected - s.received),
      highestSeq: s.extendedMax >>> 0,
      jitter: Math.floor(s.jitter),
      lsr,
      dlsr,
    };
  }
}

/**
 * Round-trip time of section 6.4.1 from a report block about our stream: A - LSR - DLSR, all in
 * 1/65536 s, where A is the block's arrival time (middle 32 bits of NTP). Null when the peer has
 * not received an SR from us yet (LSR 0) or the result is negative (clock steps, bogus values).
 */
export function roundTripMs(block: Pick<RtcpReportBlock, "lsr" | "dlsr">, arrivalUnixMs: number): number | null {
  if (block.lsr === 0) return null;
  const a = ntpMiddle32(ntpFromUnixMs(arrivalUnixMs));
  const rtt = (a - (block.lsr >>> 0) - (block.dlsr >>> 0)) | 0; // signed: modulo 2^32 on the wire
  if (rtt < 0) return null;
  return (rtt / 65536) * 1000;
}

export interface RemoteView {
  /** The peer's latest fraction lost of our stream, 0-1. */
  fractionLost: number;
  /** The peer's cumulative count of our lost packets. */
  cumulativeLost: number;
  /** The peer's interarrival jitter of our stream in milliseconds. */
  jitterMs: number;
  /** Latest round-trip time, or null when none could be computed yet. */
  rttMs: number | null;
}

export interface RtpSendStatsOptions {
  /** Our SSRC: report blocks about other sources are ignored. */
  ssrc: number;
  clockRate?: number;
  /** Milliseconds on the Unix epoch scale; must not go backwards within a call. */
  clock?: Pick<Clock, "now">;
}

/** Sender-side counters for our SR and the peer's reports about our stream. */
export class RtpSendStats {
  readonly ssrc: number;
  private readonly clockRate: number;
  private readonly clock: Pick<Clock, "now">;
  packetCount = 0;
  octetCount = 0;
  private last: { rtpTimestamp: number; atMs: number } | null = null;
  /** packetCount at the previous two reports: a sender is one that sent within two intervals (6.4). */
  private countAtReports: [number, number] = [0, 0];
  private readonly srSent: number[] = [];
  private remote: RemoteView | null = null;

  constructor(opts: RtpSendStatsOptions) {
    this.ssrc = opts.ssrc >>> 0;
    this.clockRate = opts.clockRate ?? SAMPLE_RATE;
    this.clock = opts.clock ?? statsClock;
  }

  /** Accounts one RTP packet we sent (payload octets only, as the SR octet count wants). */
  onPacketSent(payloadBytes: number, rtpTimestamp: number): void {
    this.packetCount = (this.packetCount + 1) >>> 0;
    this.octetCount = (this.octetCount + Math.max(0, payloadBytes)) >>> 0;
    this.last = { rtpTimestamp: rtpTimestamp >>> 0, atMs: this.clock.now() };
  }

  /**
   * Sender info for the report about to be sent, or null when we sent no RTP during the last two
   * reporting intervals (then the report is an RR). Call once per report: it starts a new
   * interval and remembers the SR's timestamp to validate the LSR of the peer's reply.
   */
  nextSenderInfo(): RtcpSenderInfo | null {
    const [beforeLast] = this.countAtReports;
    this.countAtReports = [this.countAtReports[1], this.packetCount];
    if (this.last === null || this.packetCount === beforeLast) return null;
    const nowMs = this.clock.now();
    const ntp = ntpFromUnixMs(nowMs);
    // The RTP timestamp of this same instant, extrapolated from the last packet sent.
    const rtpTimestamp = (this.last.rtpTimestamp + Math.round(((nowMs - this.last.atMs) * this.clockRate) / 1000)) % TWO_32;
    this.srSent.push(ntpMiddle32(ntp));
    if (this.srSent.length > RTCP_SR_HISTORY) this.srSent.shift();
    return { ntpSec: ntp.sec, ntpFrac: ntp.frac, rtpTimestamp: rtpTimestamp >>> 0, packetCount: this.packetCount, octetCount: this.octetCount };
  }

  /**
   * Takes in a report block from the peer. Blocks about another SSRC are ignored (returns false).
   * An RTT is computed only when the block's LSR is one of our recent SRs: a forged or stale LSR
   * cannot invent a round-trip time.
   */
  onReportBlock(block: RtcpReportBlock): boolean {
    if (block.ssrc >>> 0 !== this.ssrc) return false;
    let rttMs = this.remote?.rttMs ?? null;
    if (block.lsr !== 0 && this.srSent.includes(block.lsr >>> 0)) {
      const rtt = roundTripMs(block, this.clock.now());
      if (rtt !== null && rtt <= RTCP_MAX_PLAUSIBLE_RTT_MS) rttMs = rtt;
    }
    this.remote = {
      fractionLost: Math.max(0, Math.min(255, block.fractionLost)) / 256,
      cumulativeLost: block.cumulativeLost,
      jitterMs: (block.jitter * 1000) / this.clockRate,
      rttMs,
    };
    return true;
  }

  /** The peer's view of our stream, from its last report block; null before the first. */
  remoteView(): RemoteView | null {
    return this.remote ? { ...this.remote } : null;
  }
}
