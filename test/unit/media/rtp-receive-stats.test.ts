import assert from "node:assert/strict";
import { buildCompoundReport, ntpFromUnixMs, ntpMiddle32, parseRtcp, secondsToNtpShort, type RtcpReceiverReport } from "../../../src/media/rtcp.js";
import { RTCP_MAX_PLAUSIBLE_RTT_MS, RTP_MAX_DROPOUT, RtpReceiveStats, RtpSendStats, roundTripMs } from "../../../src/media/rtp-receive-stats.js";
import type { Clock } from "../../../src/clock.js";

class FakeClock implements Pick<Clock, "now"> {
  constructor(public t = 1_796_321_200_000) {}
  now(): number {
    return this.t;
  }
}

const PEER = 0x05c69df1;
const US = 0xc9b02eb5;

/** Feeds packets with the given sequence numbers, 20 ms and 160 timestamp units apart. */
function feed(stats: RtpReceiveStats, clock: FakeClock, seqs: number[], ssrc = PEER): boolean[] {
  return seqs.map((seq) => {
    clock.t += 20;
    return stats.onPacket({ ssrc, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0 });
  });
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("media/rtp-receive-stats", () => {
  describe("source validation (RFC 3550 A.1)", () => {
    it("believes a new source only after two packets in sequence", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      assert.deepEqual(feed(s, clock, [5]), [false]);
      assert.equal(s.snapshot(), null);
      assert.equal(s.reportBlock(), null);
      assert.deepEqual(feed(s, clock, [7]), [false]); // not in sequence: probation restarts at 7
      assert.equal(s.ssrc, null);
      assert.deepEqual(feed(s, clock, [8, 9]), [true, true]);
      assert.equal(s.ssrc, PEER);
      assert.deepEqual(
        { ...s.snapshot(), jitter: 0, jitterMs: 0 },
        { ssrc: PEER, packetsReceived: 2, packetsExpected: 2, packetsLost: 0, lossFraction: 0, highestSeq: 9, jitter: 0, jitterMs: 0 },
      );
    });

    it("probation works across the 16-bit wrap", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      assert.deepEqual(feed(s, clock, [65535, 65536]), [false, true]);
      assert.equal(s.snapshot()?.highestSeq, 0);
    });

    it("a stray packet from another SSRC does not disturb the source; a new stream that persists takes over", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, range(100, 50));
      assert.equal(feed(s, clock, [40000], 0x1234)[0], false);
      assert.deepEqual(feed(s, clock, [150, 151]), [true, true]);
      assert.equal(s.ssrc, PEER);
      assert.equal(s.snapshot()?.packetsLost, 0);
      assert.equal(s.snapshot()?.packetsReceived, 51);
      // The peer restarts its stream with a new SSRC (e.g. after a re-INVITE).
      assert.deepEqual(feed(s, clock, [7000, 7001, 7002], 0x1234), [false, true, true]);
      assert.equal(s.ssrc, 0x1234);
      assert.equal(s.snapshot()?.packetsReceived, 2);
      assert.equal(s.snapshot()?.highestSeq, 7002);
    });
  });

  describe("loss and extended sequence (A.3)", () => {
    it("counts across the sequence wrap without inventing loss", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, range(65000, 1000));
      const snap = s.snapshot();
      assert.ok(snap);
      assert.equal(snap.highestSeq, 65536 + ((65000 + 999) & 0xffff));
      assert.equal(snap.packetsExpected, 999);
      assert.equal(snap.packetsReceived, 999);
      assert.equal(snap.packetsLost, 0);
      const rb = s.reportBlock();
      assert.equal(rb?.highestSeq, 65999);
      assert.equal(rb?.fractionLost, 0);
    });

    it("known loss: every tenth packet dropped, then a clean interval", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      const seqs = range(1000, 1000).filter((_, i) => i % 10 !== 5);
      feed(s, clock, seqs);
      const snap = s.snapshot();
      assert.ok(snap);
      // The first packet was spent on probation: seqs 1001..1999 expected, 899 of them arrived.
      assert.equal(snap.packetsExpected, 999);
      assert.equal(snap.packetsReceived, 899);
      assert.equal(snap.packetsLost, 100);
      assert.ok(Math.abs(snap.lossFraction - 100 / 999) < 1e-12);
      let rb = s.reportBlock();
      assert.equal(rb?.cumulativeLost, 100);
      assert.equal(rb?.fractionLost, Math.floor((100 * 256) / 999)); // 25
      feed(s, clock, range(2000, 100));
      rb = s.reportBlock();
      assert.equal(rb?.fractionLost, 0, "fraction lost is per interval");
      assert.equal(rb?.cumulativeLost, 100);
      // Half of the next interval lost.
      feed(
        s,
        clock,
        range(2100, 100).filter((n) => n % 2 === 0),
      );
      rb = s.reportBlock();
      assert.equal(rb?.fractionLost, Math.floor((49 * 256) / 99));
      assert.equal(rb?.cumulativeLost, 149);
    });

    it("reordering across the wrap is neither loss nor an extra cycle", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, [65534, 65535, 1, 0, 2, 3]);
      const snap = s.snapshot();
      assert.equal(snap?.highestSeq, 65536 + 3);
      assert.equal(snap?.packetsExpected, 5);
      assert.equal(snap?.packetsReceived, 5);
      assert.equal(snap?.packetsLost, 0);
    });

    it("duplicates make cumulative loss negative, never the fraction", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, [10, 11, 12, 12, 12, 13]);
      assert.equal(s.snapshot()?.packetsLost, -2);
      assert.equal(s.snapshot()?.lossFraction, 0);
      const rb = s.reportBlock();
      assert.equal(rb?.cumulativeLost, -2);
      assert.equal(rb?.fractionLost, 0);
    });

    it("ignores one wild jump, resynchronises on a sender restart", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, range(10, 11)); // 10..20
      assert.deepEqual(feed(s, clock, [20 + RTP_MAX_DROPOUT + 10]), [false]);
      assert.deepEqual(feed(s, clock, [21]), [true]);
      assert.equal(s.snapshot()?.highestSeq, 21);
      assert.equal(s.snapshot()?.packetsLost, 0);
      // Two in sequence far away: the sender restarted its numbering.
      assert.deepEqual(feed(s, clock, [40000, 40001]), [false, true]);
      assert.deepEqual(s.snapshot() && { e: s.snapshot()?.packetsExpected, r: s.snapshot()?.packetsReceived, h: s.snapshot()?.highestSeq }, {
        e: 1,
        r: 1,
        h: 40001,
      });
    });

    it("clamps cumulative loss to the signed 24-bit field", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      // 0x7fffff + 100 packets lost: one packet every 2000 sequence numbers (within MAX_DROPOUT).
      const seqs = [0, 1];
      let n = 1;
      while (n < 0x800000 + 20000) seqs.push((n += 2000));
      feed(s, clock, seqs);
      assert.ok((s.snapshot()?.packetsLost ?? 0) > 0x7fffff);
      assert.equal(s.reportBlock()?.cumulativeLost, 0x7fffff);
    });
  });

  describe("interarrival jitter (A.8)", () => {
    it("is zero for a perfectly paced stream, across the timestamp wrap", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      for (let i = 0; i < 200; i++) {
        clock.t += 20;
        s.onPacket({ ssrc: PEER, sequenceNumber: i, timestamp: (0xffffffff - 50 * 160 + i * 160) >>> 0 });
      }
      assert.equal(s.snapshot()?.jitter, 0);
    });

    it("keeps the known answer when the timestamp wraps mid-stream (10 ms steps -> 10 ms)", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      const start = clock.t;
      for (let i = 0; i < 500; i++) {
        clock.t = start + i * 20 + (i % 2 ? 10 : 0);
        s.onPacket({ ssrc: PEER, sequenceNumber: i, timestamp: (2 ** 32 - 250 * 160 + i * 160) >>> 0 }); // wraps on a packet that is on time
      }
      assert.ok(Math.abs((s.snapshot()?.jitterMs ?? 0) - 10) < 1e-6, String(s.snapshot()?.jitterMs));
    });

    it("converges as J += (|D| - J)/16 when packets alternate 0 and 10 ms late", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      const start = clock.t;
      const n = 12;
      for (let i = 0; i < n; i++) {
        clock.t = start + i * 20 + (i % 2 ? 10 : 0);
        s.onPacket({ ssrc: PEER, sequenceNumber: 500 + i, timestamp: 3000 + i * 160 });
      }
      // Packet 0 is spent on probation, packet 1 sets the first transit, packets 2.. give |D| = 80.
      const differences = n - 2;
      const expected = 80 * (1 - (15 / 16) ** differences);
      const snap = s.snapshot();
      assert.ok(snap);
      assert.ok(Math.abs(snap.jitter - expected) < 1e-9, `${snap.jitter} vs ${expected}`);
      assert.ok(Math.abs(snap.jitterMs - expected / 8) < 1e-9);
      assert.equal(s.reportBlock()?.jitter, Math.floor(expected));
    });

    it("reaches the delay variation on a long stream (known answer: 10 ms steps -> 80 units)", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      const start = clock.t;
      for (let i = 0; i < 500; i++) {
        clock.t = start + i * 20 + (i % 2 ? 10 : 0);
        s.onPacket({ ssrc: PEER, sequenceNumber: i, timestamp: i * 160 });
      }
      assert.ok(Math.abs((s.snapshot()?.jitterMs ?? 0) - 10) < 1e-6);
    });
  });

  describe("LSR/DLSR in our report blocks", () => {
    it("echoes the peer's last SR and the delay since", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, range(1, 10));
      assert.equal(s.reportBlock()?.lsr, 0);
      const srTime = { sec: 0xeebc2e3b, frac: 0xd087229e };
      s.onSenderReport(PEER, srTime);
      clock.t += 1500;
      const rb = s.reportBlock();
      assert.equal(rb?.lsr, 0x2e3bd087);
      assert.equal(rb?.dlsr, 1.5 * 65536);
    });

    it("ignores an SR from a source it does not report on", () => {
      const clock = new FakeClock();
      const s = new RtpReceiveStats({ clock });
      feed(s, clock, range(1, 10));
      s.onSenderReport(0x999, { sec: 1, frac: 2 });
      assert.equal(s.reportBlock()?.lsr, 0);
    });
  });

  describe("sender side", () => {
    it("reports counters and the RTP time of the SR's instant", () => {
      const clock = new FakeClock();
      const tx = new RtpSendStats({ ssrc: US, clock });
      assert.equal(tx.nextSenderInfo(), null, "nothing sent: RR");
      tx.onPacketSent(160, 0xffffff00);
      tx.onPacketSent(160, 0xffffff00 + 160);
      clock.t += 100; // 800 timestamp units later: wraps past 2^32
      const info = tx.nextSenderInfo();
      assert.ok(info);
      assert.equal(info.packetCount, 2);
      assert.equal(info.octetCount, 320);
      assert.equal(info.rtpTimestamp, (0xffffff00 + 160 + 800) % 2 ** 32);
      const ntp = ntpFromUnixMs(clock.t);
      assert.deepEqual({ sec: info.ntpSec, frac: info.ntpFrac }, ntp);
    });

    it("stays a sender for two intervals after its last packet, then sends RRs", () => {
      const clock = new FakeClock();
      const tx = new RtpSendStats({ ssrc: US, clock });
      tx.onPacketSent(160, 0);
      assert.ok(tx.nextSenderInfo());
      assert.ok(tx.nextSenderInfo());
      assert.equal(tx.nextSenderInfo(), null);
      tx.onPacketSent(160, 160);
      assert.ok(tx.nextSenderInfo());
    });

    it("computes the round-trip time from a block that echoes our SR (6.4.1)", () => {
      const clock = new FakeClock();
      const tx = new RtpSendStats({ ssrc: US, clock });
      tx.onPacketSent(160, 0);
      const info = tx.nextSenderInfo();
      assert.ok(info);
      const lsr = ntpMiddle32({ sec: info.ntpSec, frac: info.ntpFrac });
      clock.t += 250; // the peer held it 200 ms: 50 ms on the wire, both ways
      const block = { ssrc: US, fractionLost: 64, cumulativeLost: 3, highestSeq: 10, jitter: 240, lsr, dlsr: secondsToNtpShort(0.2) };
      assert.equal(tx.onReportBlock(block), true);
      const view = tx.remoteView();
      assert.ok(view?.rttMs !== null && view?.rttMs !== undefined);
      assert.ok(Math.abs(view.rttMs - 50) < 0.05, String(view.rttMs));
      assert.equal(view.fractionLost, 0.25);
      assert.equal(view.cumulativeLost, 3);
      assert.equal(view.jitterMs, 30);
    });

    it("does not let a forged or stale LSR invent a round-trip time", () => {
      const clock = new FakeClock();
      const tx = new RtpSendStats({ ssrc: US, clock });
      tx.onPacketSent(160, 0);
      const info = tx.nextSenderInfo();
      assert.ok(info);
      const lsr = ntpMiddle32({ sec: info.ntpSec, frac: info.ntpFrac });
      clock.t += 100;
      tx.onReportBlock({ ssrc: US, fractionLost: 0, cumulativeLost: 0, highestSeq: 1, jitter: 0, lsr: lsr - 65536, dlsr: 0 });
      assert.equal(tx.remoteView()?.rttMs, null, "LSR of no SR we sent");
      clock.t += RTCP_MAX_PLAUSIBLE_RTT_MS + 1000;
      tx.onReportBlock({ ssrc: US, fractionLost: 0, cumulativeLost: 0, highestSeq: 1, jitter: 0, lsr, dlsr: 0 });
      assert.equal(tx.remoteView()?.rttMs, null, "implausibly old");
      assert.equal(tx.onReportBlock({ ssrc: 0x77, fractionLost: 0, cumulativeLost: 0, highestSeq: 1, jitter: 0, lsr, dlsr: 0 }), false);
    });

    it("roundTripMs: none without LSR, none when negative", () => {
      assert.equal(roundTripMs({ lsr: 0, dlsr: 0 }, 1e12), null);
      const a = ntpMiddle32(ntpFromUnixMs(1e12));
      assert.equal(roundTripMs({ lsr: a, dlsr: 65536 }, 1e12), null);
      assert.ok(Math.abs((roundTripMs({ lsr: a, dlsr: 0 }, 1e12 + 1000) ?? 0) - 1000) < 0.05);
    });

    it("roundTripMs on a real baresip exchange: sub-millisecond on loopback", () => {
      // bob's block about alice: LSR 0x2e3bd087, DLSR 196, arriving at alice at this capture time.
      const rtt = roundTripMs({ lsr: 0x2e3bd087, dlsr: 196 }, 1796321211817.98);
      assert.ok(rtt !== null && rtt >= 0 && rtt < 2, String(rtt));
    });
  });

  it("end to end through RTCP packets: loss, jitter and RTT seen from both sides", () => {
    const clock = new FakeClock();
    const ONE_WAY_MS = 30;
    const tx = new RtpSendStats({ ssrc: US, clock });
    const rx = new RtpReceiveStats({ clock });
    // 50 packets, seq 100 lost; each arrives ONE_WAY_MS after being sent.
    for (let i = 0; i < 50; i++) {
      const seq = 60 + i;
      tx.onPacketSent(160, seq * 160);
      if (seq === 100) {
        clock.t += 20;
        continue;
      }
      clock.t += ONE_WAY_MS;
      rx.onPacket({ ssrc: US, sequenceNumber: seq, timestamp: seq * 160 });
      clock.t += 20 - ONE_WAY_MS;
    }
    // We send an SR; it reaches the peer one way later.
    const sr = parseRtcp(buildCompoundReport({ ssrc: US, cname: "us@127.0.0.1", sender: tx.nextSenderInfo() }));
    assert.ok(sr && sr[0].type === "sr");
    clock.t += ONE_WAY_MS;
    const srPkt = sr[0];
    rx.onSenderReport(srPkt.ssrc, { sec: srPkt.sender.ntpSec, frac: srPkt.sender.ntpFrac });
    // The peer answers 1.2 s later with an RR about us; it reaches us one way later.
    clock.t += 1200;
    const rb = rx.reportBlock();
    assert.ok(rb);
    const rr = parseRtcp(buildCompoundReport({ ssrc: PEER, cname: "peer", reports: [rb] }));
    assert.ok(rr);
    clock.t += ONE_WAY_MS;
    for (const b of (rr[0] as RtcpReceiverReport).reports) tx.onReportBlock(b);
    const view = tx.remoteView();
    assert.ok(view);
    assert.ok(view.rttMs !== null && Math.abs(view.rttMs - 2 * ONE_WAY_MS) < 0.1, String(view.rttMs));
    assert.equal(view.cumulativeLost, 1);
    assert.equal(view.fractionLost, Math.floor(256 / 49) / 256);
    assert.equal(view.jitterMs, 0);
  });
});
