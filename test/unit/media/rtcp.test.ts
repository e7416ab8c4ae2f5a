import assert from "node:assert/strict";
import {
  buildCompoundReport,
  isRtcp,
  ntpFromUnixMs,
  ntpMiddle32,
  ntpShortToSeconds,
  ntpToUnixMs,
  parseRtcp,
  RTCP_MAX_PACKETS_PER_COMPOUND,
  RTCP_MAX_SDES_ITEMS_PER_CHUNK,
  sdesCname,
  serializeRtcp,
  type RtcpBye,
  type RtcpOther,
  type RtcpReceiverReport,
  type RtcpReportBlock,
  type RtcpSdes,
  type RtcpSenderReport,
} from "../../../src/media/rtcp.js";
import { RTCP_INITIAL_INTERVAL_FACTOR, RTCP_MIN_INTERVAL_MS, rtcpIntervalMs } from "../../../src/media/rtcp-interval.js";
import { serializeRtp } from "../../../src/media/rtp-packet.js";

// Datagrams captured with tshark on loopback from two baresip 1.0.0 instances in a G.711 call
// (alice SSRC 0xc9b02eb5, bob SSRC 0x05c69df1); field values below were read from tshark's decoder.
const BARESIP = {
  // alice's second SR + SDES, a block about bob with LSR/DLSR.
  sr: "81c8000cc9b02eb5eebc2e3bd087229e00017e29000001f50001392005c69df10000000000006631000000212e36d1470004ff3b81ca0007c9b02eb501137369703a616c696365403132372e302e302e31000000",
  // bob's answer 3.4 ms later: its block about alice echoes alice's SR in LSR.
  srReply:
    "81c8000c05c69df1eebc2e3bd1656eef00022c6d000001f500013920c9b02eb50000000000007bd0000000182e3bd087000000c481ca000805c69df101177369703a626f62403132372e302e302e313a3131393632000000",
  srReplyArrivalUnixMs: 1796321211817.98,
  // At hang-up baresip sends BYE (with reason) *before* SDES.
  bye: "81cb0003c9b02eb50441646a6f00000081ca0007c9b02eb501137369703a616c696365403132372e302e302e31000000",
  // A lone APP packet (name "PING") baresip sends before media starts.
  app: "80cc000305c69df150494e47504f4e47",
};
const hex = (s: string) => Buffer.from(s, "hex");

const block = (over: Partial<RtcpReportBlock> = {}): RtcpReportBlock => ({
  ssrc: 0x01020304,
  fractionLost: 25,
  cumulativeLost: 1234,
  highestSeq: 0x0001fffe,
  jitter: 77,
  lsr: 0xabcd1234,
  dlsr: 0x00018000,
  ...over,
});

describe("media/rtcp", () => {
  describe("real packets from baresip", () => {
    it("parses a compound SR + SDES", () => {
      const pkts = parseRtcp(hex(BARESIP.sr));
      assert.ok(pkts);
      assert.equal(pkts.length, 2);
      const sr = pkts[0] as RtcpSenderReport;
      assert.equal(sr.type, "sr");
      assert.equal(sr.ssrc, 0xc9b02eb5);
      assert.deepEqual(sr.sender, { ntpSec: 4005310011, ntpFrac: 3498517150, rtpTimestamp: 97833, packetCount: 501, octetCount: 80160 });
      assert.deepEqual(sr.reports, [
        { ssrc: 0x05c69df1, fractionLost: 0, cumulativeLost: 0, highestSeq: 26161, jitter: 33, lsr: 775344455, dlsr: 327483 },
      ]);
      const sdes = pkts[1] as RtcpSdes;
      assert.equal(sdes.type, "sdes");
      assert.equal(sdes.chunks.length, 1);
      assert.equal(sdes.chunks[0].ssrc, 0xc9b02eb5);
      assert.equal(sdesCname(sdes.chunks[0]), "sip:alice@127.0.0.1");
      // The SR's own NTP time, as tshark shows it: 2026-12-03 18:06:51.814561999 UTC.
      assert.ok(Math.abs(ntpToUnixMs({ sec: sr.sender.ntpSec, frac: sr.sender.ntpFrac }) - (Date.UTC(2026, 11, 3, 18, 6, 51, 814) + 0.562)) < 0.01);
    });

    it("re-serialises the SR + SDES bit for bit", () => {
      const pkts = parseRtcp(hex(BARESIP.sr));
      assert.ok(pkts);
      assert.equal(serializeRtcp(pkts as (RtcpSenderReport | RtcpSdes)[]).toString("hex"), BARESIP.sr);
    });

    it("reads the peer's LSR as the middle 32 bits of our SR's NTP time", () => {
      const ours = parseRtcp(hex(BARESIP.sr))?.[0] as RtcpSenderReport;
      const reply = parseRtcp(hex(BARESIP.srReply))?.[0] as RtcpSenderReport;
      assert.equal(reply.reports[0].ssrc, ours.ssrc);
      assert.equal(reply.reports[0].lsr, ntpMiddle32({ sec: ours.sender.ntpSec, frac: ours.sender.ntpFrac }));
      assert.equal(reply.reports[0].dlsr, 196);
      assert.ok(Math.abs(ntpShortToSeconds(reply.reports[0].dlsr) - 0.003) < 0.0001);
    });

    it("parses BYE (with reason) followed by SDES", () => {
      const pkts = parseRtcp(hex(BARESIP.bye));
      assert.ok(pkts);
      assert.deepEqual(pkts[0], { type: "bye", ssrcs: [0xc9b02eb5], reason: "Adjo" } satisfies RtcpBye);
      assert.equal(pkts[1].type, "sdes");
      assert.equal(serializeRtcp(pkts as (RtcpBye | RtcpSdes)[]).toString("hex"), BARESIP.bye);
    });

    it("keeps an APP packet as 'other' without interpreting it", () => {
      const pkts = parseRtcp(hex(BARESIP.app));
      assert.ok(pkts);
      const app = pkts[0] as RtcpOther;
      assert.equal(app.type, "other");
      assert.equal(app.packetType, 204);
      assert.equal(app.count, 0);
      assert.equal(app.body.subarray(4, 8).toString(), "PING");
    });
  });

  describe("building", () => {
    it("serialises an RR with one block exactly as the RFC 3550 layout says", () => {
      const out = serializeRtcp([{ type: "rr", ssrc: 0x11223344, reports: [block({ cumulativeLost: -2 })] }]);
      assert.equal(
        out.toString("hex"),
        // V=2 P=0 RC=1 | PT=201 | length 7 words | SSRC
        "81c90007" +
          "11223344" +
          // block: SSRC | fraction 25 (0x19) + cumulative -2 as 24-bit two's complement | ext. highest seq | jitter | LSR | DLSR
          "01020304" +
          "19fffffe" +
          "0001fffe" +
          "0000004d" +
          "abcd1234" +
          "00018000",
      );
    });

    it("round-trips SR + SDES + BYE built as the last compound of a call", () => {
      const sender = { ntpSec: 0xeebc2e3b, ntpFrac: 0x80000000, rtpTimestamp: 0xfffffff0, packetCount: 7, octetCount: 1120 };
      const buf = buildCompoundReport({
        ssrc: 0xdeadbeef,
        cname: "node-red@127.0.0.1",
        sender,
        reports: [block(), block({ ssrc: 9, cumulativeLost: -8388608, fractionLost: 255 })],
        bye: { reason: "call ended" },
      });
      assert.equal(buf.length % 4, 0);
      const pkts = parseRtcp(buf);
      assert.ok(pkts);
      assert.deepEqual(
        pkts.map((p) => p.type),
        ["sr", "sdes", "bye"],
      );
      const sr = pkts[0] as RtcpSenderReport;
      assert.equal(sr.ssrc, 0xdeadbeef);
      assert.deepEqual(sr.sender, sender);
      assert.deepEqual(sr.reports, [block(), block({ ssrc: 9, cumulativeLost: -8388608, fractionLost: 255 })]);
      assert.equal(sdesCname((pkts[1] as RtcpSdes).chunks[0]), "node-red@127.0.0.1");
      assert.deepEqual(pkts[2], { type: "bye", ssrcs: [0xdeadbeef], reason: "call ended" });
    });

    it("builds an RR when we sent nothing, and clamps out-of-range loss to the 24-bit field", () => {
      const pkts = parseRtcp(buildCompoundReport({ ssrc: 1, cname: "x", reports: [block({ cumulativeLost: 1e9, fractionLost: 999 })] }));
      assert.ok(pkts);
      const rr = pkts[0] as RtcpReceiverReport;
      assert.equal(rr.type, "rr");
      assert.equal(rr.reports[0].cumulativeLost, 0x7fffff);
      assert.equal(rr.reports[0].fractionLost, 255);
    });

    it("spills more than 31 report blocks into further RR packets", () => {
      const reports = Array.from({ length: 40 }, (_, i) => block({ ssrc: i + 1 }));
      const pkts = parseRtcp(buildCompoundReport({ ssrc: 5, cname: "x", reports }));
      assert.ok(pkts);
      assert.deepEqual(
        pkts.map((p) => p.type),
        ["rr", "rr", "sdes"],
      );
      assert.equal((pkts[0] as RtcpReceiverReport).reports.length, 31);
      assert.equal((pkts[1] as RtcpReceiverReport).reports.length, 9);
      assert.equal((pkts[1] as RtcpReceiverReport).reports[8].ssrc, 40);
    });

    it("pads SDES chunks to 32 bits for every CNAME length", () => {
      for (let n = 0; n < 9; n++) {
        const cname = "c".repeat(n);
        const buf = serializeRtcp([
          {
            type: "sdes",
            chunks: [
              { ssrc: 1, items: [{ type: 1, value: cname }] },
              { ssrc: 2, items: [] },
            ],
          },
        ]);
        assert.equal(buf.length % 4, 0);
        const sdes = parseRtcp(buf)?.[0] as RtcpSdes;
        assert.equal(sdes.chunks.length, 2, `cname length ${n}`);
        assert.equal(sdesCname(sdes.chunks[0]), cname);
        assert.deepEqual(sdes.chunks[1], { ssrc: 2, items: [] });
      }
    });

    it("rejects values the fields cannot carry", () => {
      assert.throws(() => serializeRtcp([{ type: "rr", ssrc: 1, reports: Array.from({ length: 32 }, () => block()) }]), RangeError);
      assert.throws(() => serializeRtcp([{ type: "sdes", chunks: [{ ssrc: 1, items: [{ type: 1, value: "x".repeat(256) }] }] }]), RangeError);
      assert.throws(() => serializeRtcp([{ type: "sdes", chunks: [{ ssrc: 1, items: [{ type: 0, value: "" }] }] }]), RangeError);
      assert.throws(() => serializeRtcp([{ type: "bye", ssrcs: [1], reason: "é".repeat(128) }]), RangeError);
    });
  });

  describe("defensive parsing", () => {
    const rr = serializeRtcp([{ type: "rr", ssrc: 1, reports: [block()] }]);
    const sdes = serializeRtcp([{ type: "sdes", chunks: [{ ssrc: 1, items: [{ type: 1, value: "ab" }] }] }]);
    const withByte = (b: Buffer, i: number, v: number) => {
      const c = Buffer.from(b);
      c[i] = v;
      return c;
    };
    const padded = (body: Buffer, pad: number, countByte = pad) => {
      // An RR without blocks, padded with `pad` octets whose last octet says countByte.
      const p = Buffer.concat([body, Buffer.alloc(pad)]);
      p[0] |= 0x20;
      p.writeUInt16BE(p.length / 4 - 1, 2);
      p[p.length - 1] = countByte;
      return p;
    };
    const emptyRr = serializeRtcp([{ type: "rr", ssrc: 7, reports: [] }]);

    it("accepts a valid padded last packet and strips the padding", () => {
      const pkts = parseRtcp(Buffer.concat([rr, padded(emptyRr, 4)]));
      assert.ok(pkts);
      assert.deepEqual(pkts[1], { type: "rr", ssrc: 7, reports: [] });
    });

    const cases: [string, Buffer][] = [
      ["empty", Buffer.alloc(0)],
      ["shorter than a header", Buffer.from([0x80, 0xc9, 0])],
      ["length not a multiple of 4", Buffer.concat([rr, Buffer.from([0])])],
      ["version 1", withByte(rr, 0, 0x41)],
      ["version 0 in the second packet", Buffer.concat([rr, withByte(sdes, 0, 0x01)])],
      ["length field beyond the datagram", withByte(rr, 3, 0x08)],
      ["length field short: trailing words are not a packet", withByte(rr, 3, 0x06)],
      ["report count beyond the length", withByte(rr, 0, 0x82)],
      ["SR shorter than its sender info", Buffer.from("80c8000300000001aaaaaaaabbbbbbbb", "hex")],
      ["SDES item length beyond the packet", withByte(sdes, 9, 40)],
      ["SDES chunk without its end octet", Buffer.from("81ca000200000001" + "01026162", "hex")],
      ["SDES chunk count beyond the packet", withByte(sdes, 0, 0x83)],
      ["BYE source count beyond the packet", Buffer.from("82cb000100000001", "hex")],
      ["BYE reason length beyond the packet", Buffer.from("81cb000200000001" + "09616263", "hex")],
      ["padding on a packet that is not the last", Buffer.concat([padded(emptyRr, 4), rr])],
      ["padding count 0", padded(emptyRr, 4, 0)],
      ["padding count beyond the packet", padded(emptyRr, 4, 13)],
      ["more packets than RTCP_MAX_PACKETS_PER_COMPOUND", Buffer.concat(Array.from({ length: RTCP_MAX_PACKETS_PER_COMPOUND + 1 }, () => emptyRr))],
    ];
    for (const [name, buf] of cases) {
      it(`rejects: ${name}`, () => assert.equal(parseRtcp(buf), null));
    }

    it("accepts exactly RTCP_MAX_PACKETS_PER_COMPOUND packets", () => {
      assert.equal(
        parseRtcp(Buffer.concat(Array.from({ length: RTCP_MAX_PACKETS_PER_COMPOUND }, () => emptyRr)))?.length,
        RTCP_MAX_PACKETS_PER_COMPOUND,
      );
    });

    it("keeps at most RTCP_MAX_SDES_ITEMS_PER_CHUNK items and still finds the next packet", () => {
      const items = Array.from({ length: 20 }, (_, i) => ({ type: 1 + (i % 7), value: `v${i}` }));
      const buf = serializeRtcp([
        { type: "sdes", chunks: [{ ssrc: 3, items }] },
        { type: "bye", ssrcs: [3] },
      ]);
      const pkts = parseRtcp(buf);
      assert.ok(pkts);
      assert.equal((pkts[0] as RtcpSdes).chunks[0].items.length, RTCP_MAX_SDES_ITEMS_PER_CHUNK);
      assert.deepEqual(pkts[1], { type: "bye", ssrcs: [3] });
    });

    it("never throws on random or mutated input", () => {
      let seed = 12345;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const valid = hex(BARESIP.sr);
      for (let i = 0; i < 20000; i++) {
        let buf: Buffer;
        if (i % 2 === 0) {
          buf = Buffer.from(Array.from({ length: Math.floor(rnd() * 120) }, () => Math.floor(rnd() * 256)));
          if (buf.length > 1) buf[0] = 0x80 | (buf[0] & 0x3f); // mostly version 2, to get past the first check
        } else {
          buf = Buffer.from(valid);
          for (let k = 0; k < 3; k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
        }
        const out = parseRtcp(buf);
        assert.ok(out === null || Array.isArray(out));
      }
    });
  });

  it("tells RTCP from RTP on a multiplexed port (RFC 5761)", () => {
    assert.equal(isRtcp(hex(BARESIP.sr)), true);
    assert.equal(isRtcp(hex(BARESIP.app)), true);
    for (const pt of [0, 8, 9, 13, 96, 101, 127]) {
      for (const marker of [false, true]) {
        const rtp = serializeRtp({ payloadType: pt, marker, sequenceNumber: 1, timestamp: 2, ssrc: 3 }, Buffer.alloc(160));
        assert.equal(isRtcp(rtp), false, `PT ${pt} marker ${marker}`);
      }
    }
    assert.equal(isRtcp(Buffer.from([0x80, 0xc8])), false);
  });

  describe("NTP timestamps", () => {
    it("maps the Unix epoch and fractions", () => {
      assert.deepEqual(ntpFromUnixMs(0), { sec: 2208988800, frac: 0 });
      assert.deepEqual(ntpFromUnixMs(1500), { sec: 2208988801, frac: 0x80000000 });
      assert.deepEqual(ntpFromUnixMs(250.0), { sec: 2208988800, frac: 0x40000000 });
    });

    it("wraps at the end of NTP era 0 (2036-02-07 06:28:16 UTC), as on the wire", () => {
      assert.deepEqual(ntpFromUnixMs(Date.UTC(2036, 1, 7, 6, 28, 16)), { sec: 0, frac: 0 });
      assert.deepEqual(ntpFromUnixMs(Date.UTC(2036, 1, 7, 6, 28, 15, 500)), { sec: 0xffffffff, frac: 0x80000000 });
    });

    it("round-trips milliseconds to well under a microsecond", () => {
      for (const ms of [0, 1, 999.999, 1796321211814.562, 1e12 + 0.5]) {
        assert.ok(Math.abs(ntpToUnixMs(ntpFromUnixMs(ms)) - ms) < 0.001, String(ms));
      }
    });

    it("takes the middle 32 bits", () => {
      assert.equal(ntpMiddle32({ sec: 0xeebc2e3b, frac: 0xd087229e }), 0x2e3bd087);
      assert.equal(ntpShortToSeconds(0x00018000), 1.5);
    });
  });

  describe("report interval", () => {
    it("spreads reports over 0.5-1.5 x 5 s", () => {
      assert.equal(rtcpIntervalMs({ random: () => 0 }), 0.5 * RTCP_MIN_INTERVAL_MS);
      assert.equal(rtcpIntervalMs({ random: () => 0.5 }), RTCP_MIN_INTERVAL_MS);
      assert.equal(rtcpIntervalMs({ random: () => 1 }), 1.5 * RTCP_MIN_INTERVAL_MS);
    });

    it("halves the first interval", () => {
      assert.equal(rtcpIntervalMs({ initial: true, random: () => 0.5 }), RTCP_MIN_INTERVAL_MS * RTCP_INITIAL_INTERVAL_FACTOR);
    });

    it("stays in range whatever the random source returns", () => {
      for (const r of [NaN, -3, 7, Infinity]) {
        const t = rtcpIntervalMs({ random: () => r });
        assert.ok(t >= 2500 && t <= 7500, `${r} -> ${t}`);
      }
      for (let i = 0; i < 1000; i++) {
        const t = rtcpIntervalMs();
        assert.ok(t >= 2500 && t <= 7500);
      }
    });
  });
});
