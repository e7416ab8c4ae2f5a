// The pure analysis of the call benchmarks (bench/lib/rtp-analysis.ts).
import assert from "assert";
import {
  analyse,
  firstAudioMs,
  isSilentPayload,
  parseBlock,
  parseRtpFields,
  skippedDuring,
  summarise,
  type Pkt,
} from "../../../bench/lib/rtp-analysis";

/** A 20 ms stream: n packets from t0 (s), with extra delays (ms) added at some indices. */
function stream(n: number, t0 = 1000, late: Record<number, number> = {}): Pkt[] {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i * 0.02 + (late[i] ?? 0) / 1000, ts: i * 160, seq: i }));
}

describe("bench/lib/rtp-analysis", () => {
  it("a steady stream: deltas of 20 ms, no jitter, no drift, no gaps", () => {
    const a = analyse(stream(100));
    assert.strictEqual(a.deltas.length, 99);
    for (const d of a.deltas) assert.ok(Math.abs(d - 20) < 1e-6);
    assert.ok(a.jitterMax < 1e-6);
    assert.ok(Math.abs(a.drift) < 1e-6);
    assert.strictEqual(a.lost, 0);
  });

  it("a 40 ms stall shows as a 60 ms delta and RFC 3550 jitter; sequence gaps count across the wrap", () => {
    const stall: Record<number, number> = {};
    for (let i = 50; i < 100; i++) stall[i] = 40;
    const s = summarise([stream(100, 1000, stall)], 22);
    assert.ok(Math.abs(s.max - 60) < 1e-6);
    assert.strictEqual(s.gapsOver, 1);
    assert.ok(Math.abs(s.jitterMax - 40 / 16) < 1e-6, `jitter ${s.jitterMax}`);
    const wrap = stream(20).map((p, i) => ({ ...p, seq: (65530 + i + (i >= 10 ? 2 : 0)) & 0xffff }));
    assert.strictEqual(analyse(wrap).lost, 2);
  });

  it("leaves out streams shorter than 10 packets", () => {
    assert.strictEqual(summarise([stream(5), stream(50)]).streams, 1);
  });

  it("skipped frames: a session that closed keeps its count; a new one counts from 0; none goes negative", () => {
    const a = {};
    const b = {};
    const c = {};
    const before = new Map<object, number>([
      [a, 100],
      [b, 40],
    ]);
    // a ended during the capture (still read through its object), b skipped 5 more, c is new.
    const after = new Map<object, number>([
      [a, 100],
      [b, 45],
      [c, 3],
    ]);
    assert.deepStrictEqual(skippedDuring(before, after), { frames: 8, sessions: 3, decreased: 0 });
    assert.deepStrictEqual(skippedDuring(before, new Map([[b, 0]])), { frames: 0, sessions: 1, decreased: 1 });
  });

  it("reads tshark fields into streams, with marker and silence", () => {
    const text = [
      "1000.000\t30000\t40000\t0x1\t1\t160\t1\tff:ff:7f",
      "1000.020\t30000\t40000\t0x1\t2\t320\t0\t12:ff:ff",
      "1000.020\t40000\t30000\t0x2\t9\t320\tFalse\td5:55",
      "garbage",
      "",
    ].join("\n");
    const streams = parseRtpFields(text);
    assert.strictEqual(streams.length, 2);
    assert.deepStrictEqual(
      streams[0].pkts.map((p) => [p.marker, p.silent]),
      [
        [true, true],
        [false, false],
      ],
    );
    assert.strictEqual(streams[1].srcPort, 40000);
    assert.strictEqual(isSilentPayload("d555"), true);
    assert.strictEqual(isSilentPayload(""), false);
  });

  it("first audio: the first marker after the answer; a silent first packet's marker is passed over", () => {
    const pkts: Pkt[] = stream(20, 1000).map((p, i) => ({ ...p, marker: i === 0 || i === 7, silent: i < 7 }));
    const s = [{ srcPort: 30000, dstPort: 40000, ssrc: "1", pkts }];
    assert.ok(Math.abs(firstAudioMs(s, 999.99) - 150) < 1e-6);
    // A clip ready before the first tick: the first packet is loud and is the clip.
    const loud = pkts.map((p, i) => ({ ...p, silent: false, marker: i === 0 }));
    assert.ok(Math.abs(firstAudioMs([{ ...s[0], pkts: loud }], 999.99) - 10) < 1e-6);
    assert.ok(Number.isNaN(firstAudioMs(s, 2000)));
  });

  it("--block takes BLOCK/EVERY and refuses the rest", () => {
    assert.deepStrictEqual(parseBlock("50/200"), { blockMs: 50, everyMs: 200 });
    for (const bad of ["50", "200/50", "0/200", "x/y", "50/50"]) assert.throws(() => parseBlock(bad), /--block/);
  });
});
