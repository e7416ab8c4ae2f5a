// The pure wire analysis of the DTMF latency benchmark (bench/lib/dtmf-wire.ts).
import assert from "assert";
import { calibrationPayload, latencies, parseDtmfCapture, toCaptureClock } from "../../../bench/lib/dtmf-wire";
import { encodeFrame } from "../../../src/media/g711";
import { generateDtmfTone } from "../../../src/dtmf/tone-generator";

const hex = (b: Uint8Array) =>
  Buffer.from(b)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1:");

describe("bench/lib/dtmf-wire", () => {
  it("finds calibration packets, the first packet of each RFC 4733 event and the start of each loud run", () => {
    const quiet = hex(encodeFrame("PCMU", new Int16Array(160)));
    const tone = hex(encodeFrame("PCMU", generateDtmfTone("5", 20, { levelDbm0: -10 }).subarray(0, 160)));
    const cal = (i: number) => Buffer.from(calibrationPayload(i)).toString("hex");
    const lines = [
      ["10.000", "9999", "", "", "", "", cal(1)], // calibration (the capture missed packet 0)
      ["10.100", "31000", "101", "800", "0xa", "05:0a:00:a0"],
      ["10.120", "31000", "101", "800", "0xa", "05:0a:01:40"], // same event
      ["10.140", "31000", "101", "960", "0xa", "06:0a:00:a0"], // the next event
      ["10.200", "31002", "0", "0", "0xb", quiet],
      ["10.220", "31002", "0", "160", "0xb", tone],
      ["10.240", "31002", "0", "320", "0xb", tone],
      ["10.260", "31002", "0", "480", "0xb", quiet],
      ["10.280", "31002", "0", "640", "0xb", tone],
      ["10.300", "9999", "", "", "", "", cal(2)],
    ].map((r) => r.join("\t"));
    // Out of order on purpose: rows are sorted by time.
    const c = parseDtmfCapture([lines[9], ...lines.slice(0, 9)].join("\n"), 9999);
    assert.deepStrictEqual(
      [...c.calibration],
      [
        [1, 10],
        [2, 10.3],
      ],
    );
    assert.deepStrictEqual(c.eventOnsets, [10.1, 10.14]);
    assert.deepStrictEqual(c.toneOnsets, [10.22, 10.28]);
  });

  it("maps the process clock to the capture clock by the median offset of the calibration packets", () => {
    // Packet 0 was not captured and packet 4 was not usable: pairing is by index, never by order.
    const toWire = toCaptureClock(
      [50, 100, 200, 300, NaN],
      new Map([
        [1, 100.5],
        [2, 200.25],
        [3, 330],
        [4, 400],
      ]),
    );
    assert.strictEqual(toWire(110), 110.5);
    assert.strictEqual(toCaptureClock([], new Map())(5), 5);
  });

  it("each digit against the latest onset before it; none before it is NaN", () => {
    const l = latencies([10.0005, 10.2, 9], [10, 10.15]);
    assert.ok(Math.abs(l[0] - 0.5) < 1e-6 && Math.abs(l[1] - 50) < 1e-6);
    assert.ok(Number.isNaN(l[2]));
  });
});
