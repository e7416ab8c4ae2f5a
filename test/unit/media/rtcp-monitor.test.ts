import assert from "node:assert/strict";
import { buildCompoundReport, parseRtcp, type RtcpReceiverReport, type RtcpSenderReport } from "../../../src/media/rtcp.js";
import { RtcpMonitor } from "../../../src/media/rtcp-monitor.js";
import type { Clock } from "../../../src/clock.js";

class FakeClock implements Pick<Clock, "now"> {
  t = 1_796_321_200_000;
  now(): number {
    return this.t;
  }
}

const A = 0x0a0a0a0a;
const B = 0x0b0b0b0b;
const ONE_WAY_MS = 25;

/** Both ends share one clock; media flows 20 ms apart; a packet "arrives" ONE_WAY_MS later. */
function call(opts: { dropAtoB?: (i: number) => boolean; packets?: number } = {}) {
  const clock = new FakeClock();
  const a = new RtcpMonitor({ ssrc: A, cname: "a@127.0.0.1", clock });
  const b = new RtcpMonitor({ ssrc: B, cname: "b@127.0.0.1", clock });
  const n = opts.packets ?? 250;
  for (let i = 0; i < n; i++) {
    const ts = 1000 + i * 160;
    a.onRtpSent(160, ts);
    b.onRtpSent(160, ts);
    clock.t += ONE_WAY_MS;
    if (!opts.dropAtoB?.(i)) b.onRtpReceived({ ssrc: A, sequenceNumber: 100 + i, timestamp: ts });
    a.onRtpReceived({ ssrc: B, sequenceNumber: 7000 + i, timestamp: ts });
    clock.t += 20 - ONE_WAY_MS;
  }
  /** Sends one compound from `from` to `to`, arriving ONE_WAY_MS later. */
  const deliver = (from: RtcpMonitor, to: RtcpMonitor, extra: { bye?: boolean } = {}) => {
    const buf = from.buildReport(extra);
    clock.t += ONE_WAY_MS;
    assert.equal(to.onRtcp(buf), true);
  };
  return { clock, a, b, deliver };
}

describe("media/rtcp-monitor", () => {
  it("reports nothing before any media", () => {
    const m = new RtcpMonitor({ ssrc: A, cname: "x", clock: new FakeClock() });
    const q = m.quality();
    assert.equal(q.mos, null);
    assert.equal(q.rttMs, null);
    assert.equal(q.packetsReceived, 0);
    // With nothing sent or received the report is a bare RR + SDES.
    assert.deepEqual(
      parseRtcp(m.buildReport())?.map((p) => p.type),
      ["rr", "sdes"],
    );
  });

  it("two ends exchanging reports learn loss, jitter and the round-trip time", () => {
    const { clock, a, b, deliver } = call({ dropAtoB: (i) => i % 50 === 25 });
    deliver(a, b); // A's SR reaches B
    clock.t += 300; // B holds it for 300 ms
    deliver(b, a); // B's SR (with a block about A echoing A's SR) reaches A

    const qa = a.quality();
    assert.ok(qa.rttMs !== null && Math.abs(qa.rttMs - 2 * ONE_WAY_MS) <= 0.1, String(qa.rttMs));
    // B lost 5 of A's 249 counted packets (the first one is probation).
    assert.equal(qa.remoteLossPercent, Math.round((Math.floor((5 * 256) / 249) / 256) * 10000) / 100);
    assert.equal(qa.remoteJitterMs, 0);
    assert.equal(qa.lossPercent, 0);
    assert.equal(qa.packetsReceived, 249);
    assert.equal(qa.packetsSent, 250);
    assert.ok(qa.mosIn !== null && qa.mosOut !== null && qa.mosOut < qa.mosIn, JSON.stringify(qa));
    assert.equal(qa.mos, qa.mosOut, "the worse direction rules");

    const qb = b.quality();
    assert.equal(qb.packetsLost, 5);
    assert.equal(qb.lossPercent, Math.round((5 / 249) * 10000) / 100);
    assert.equal(qb.rttMs, null, "B has not had an answer to an SR of its own yet");
    assert.equal(qb.rtcpReceived, 1);

    deliver(a, b); // A's next report answers B's SR
    assert.ok(b.quality().rttMs !== null);
  });

  it("an SR from a source we do not receive neither sets nor overwrites LSR", () => {
    const { clock, a, b, deliver } = call();
    const forged = buildCompoundReport({
      ssrc: 0x666,
      cname: "evil",
      sender: { ntpSec: 1, ntpFrac: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 },
    });
    assert.equal(b.onRtcp(forged), true);
    const first = parseRtcp(b.buildReport())?.[0] as RtcpSenderReport;
    assert.equal(first.reports[0].ssrc, A);
    assert.equal(first.reports[0].lsr, 0, "no LSR from a stranger's SR");

    deliver(a, b); // the real SR
    const lsr = (parseRtcp(b.buildReport())?.[0] as RtcpSenderReport).reports[0].lsr;
    assert.notEqual(lsr, 0);
    assert.equal(b.onRtcp(forged), true); // arrives after the real one
    clock.t += 100;
    const report = b.buildReport();
    assert.equal((parseRtcp(report)?.[0] as RtcpSenderReport | RtcpReceiverReport).reports[0].lsr, lsr, "the real SR is still echoed");
    clock.t += ONE_WAY_MS;
    a.onRtcp(report);
    assert.ok(a.quality().rttMs !== null);
  });

  it("learns the peer's CNAME and its BYE", () => {
    const { a, b, deliver } = call({ packets: 5 });
    assert.equal(b.peerSentBye, false);
    deliver(a, b, { bye: true });
    assert.equal(b.peerSentBye, true);
    assert.equal(b.peerCname, "a@127.0.0.1");
    // A BYE for a source we do not receive is ignored.
    const other = new RtcpMonitor({ ssrc: 1, cname: "o", clock: new FakeClock() });
    assert.equal(a.onRtcp(other.buildReport({ bye: true })), true);
    assert.equal(a.peerSentBye, false);
  });

  it("counts garbage and never throws", () => {
    const { a } = call({ packets: 3 });
    for (const g of [Buffer.alloc(0), Buffer.from("hello world!"), Buffer.alloc(64, 0x80)]) assert.equal(a.onRtcp(g), false);
    assert.equal(a.quality().rtcpInvalid, 3);
    assert.equal(a.quality().rtcpReceived, 0);
  });
});
