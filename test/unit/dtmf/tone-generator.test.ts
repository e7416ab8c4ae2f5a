import assert from "node:assert/strict";
import { DTMF_DIGITS } from "../../../src/types.js";
import { DBM0_PEAK, dbm0ToPower, powerToDbm0 } from "../../../src/dtmf/levels.js";
import { DtmfToneSource, dtmfFrequencies, generateDtmfTone, generateDualTone, mixPcm } from "../../../src/dtmf/tone-generator.js";
import { concat, detect, digitsOf, g711 } from "./signals.js";

function meanPower(pcm: Int16Array, from = 0, to = pcm.length): number {
  let p = 0;
  for (let i = from; i < to; i++) p += pcm[i] * pcm[i];
  return p / (to - from);
}

/** Amplitude of one frequency by correlation over whole cycles (plain DFT bin). */
function amplitudeAt(pcm: Int16Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < pcm.length; n++) {
    re += pcm[n] * Math.cos((2 * Math.PI * hz * n) / 8000);
    im += pcm[n] * Math.sin((2 * Math.PI * hz * n) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

describe("dtmf/tone-generator", () => {
  it("defines 0 dBm0 as 3.14 dB below a full-scale sine", () => {
    assert.ok(Math.abs(DBM0_PEAK - 22827) < 1);
    assert.ok(Math.abs(powerToDbm0(dbm0ToPower(-25)) + 25) < 1e-9);
    assert.ok(Math.abs(powerToDbm0((32768 * 32768) / 2) - 3.14) < 1e-9);
  });

  it("maps every key to its Q.23 frequency pair", () => {
    const expected: Record<string, [number, number]> = {
      "1": [697, 1209],
      "2": [697, 1336],
      "3": [697, 1477],
      A: [697, 1633],
      "4": [770, 1209],
      "5": [770, 1336],
      "6": [770, 1477],
      B: [770, 1633],
      "7": [852, 1209],
      "8": [852, 1336],
      "9": [852, 1477],
      C: [852, 1633],
      "*": [941, 1209],
      "0": [941, 1336],
      "#": [941, 1477],
      D: [941, 1633],
    };
    for (const d of DTMF_DIGITS) assert.deepEqual(dtmfFrequencies(d), { lowHz: expected[d][0], highHz: expected[d][1] });
    assert.deepEqual(dtmfFrequencies("c"), dtmfFrequencies("C"));
    assert.throws(() => dtmfFrequencies("E"), RangeError);
    assert.throws(() => dtmfFrequencies("11"), RangeError);
  });

  it("generates the requested duration, frequencies and per-tone levels", () => {
    const pcm = generateDtmfTone("6", 1000, { levelDbm0: -12, twistDb: 3 });
    assert.equal(pcm.length, 8000);
    const lowAmp = amplitudeAt(pcm, 770);
    const highAmp = amplitudeAt(pcm, 1477);
    assert.ok(Math.abs(20 * Math.log10(lowAmp / DBM0_PEAK) + 12) < 0.05, `low ${lowAmp}`);
    assert.ok(Math.abs(20 * Math.log10(highAmp / DBM0_PEAK) + 9) < 0.05, `high ${highAmp}`);
    assert.ok(amplitudeAt(pcm, 697) < lowAmp / 100);
    const expected = dbm0ToPower(-12) + dbm0ToPower(-9);
    assert.ok(Math.abs(10 * Math.log10(meanPower(pcm) / expected)) < 0.05);
  });

  it("defaults to -10 dBm0 low / -8 dBm0 high", () => {
    const pcm = generateDtmfTone("1", 1000);
    assert.ok(Math.abs(20 * Math.log10(amplitudeAt(pcm, 697) / DBM0_PEAK) + 10) < 0.05);
    assert.ok(Math.abs(20 * Math.log10(amplitudeAt(pcm, 1209) / DBM0_PEAK) + 8) < 0.05);
  });

  it("fades in and out when asked, and saturates instead of wrapping", () => {
    const ramped = generateDtmfTone("0", 100, { rampMs: 5 });
    assert.ok(Math.abs(ramped[0]) < 200 && Math.abs(ramped[ramped.length - 1]) < 200);
    const loud = generateDualTone({ lowHz: 697, highHz: 1209, samples: 800, lowDbm0: 3, highDbm0: 3 });
    let min = 0;
    let max = 0;
    for (const v of loud) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(max, 32767);
    assert.equal(min, -32768);
  });

  it("mixPcm adds with saturation", () => {
    const a = new Int16Array([1000, 30000, -30000, 5]);
    mixPcm(a, new Int16Array([24, 5000, -5000]));
    assert.deepEqual([...a], [1024, 32767, -32768, 5]);
  });

  describe("DtmfToneSource", () => {
    it("yields 160-sample frames: tone, gap, tone, padded at the end", () => {
      const src = new DtmfToneSource("12#", { durationMs: 100, gapMs: 80 });
      const frames: Int16Array[] = [];
      for (let f = src.nextPcm(); f !== null; f = src.nextPcm()) frames.push(f);
      assert.equal(src.done, true);
      assert.equal(src.nextFrame(), null);
      // 3 x 100 ms + 2 x 80 ms = 460 ms -> 23 frames.
      assert.equal(frames.length, 23);
      assert.ok(frames.every((f) => f.length === 160));
      const all = concat(...frames);
      // 100-180 ms is gap; the sample at 90 ms is tone.
      assert.ok(all.subarray(800, 1440).every((v) => v === 0));
      assert.ok(meanPower(all, 0, 800) > dbm0ToPower(-8));
      const found = detect(g711(all, "mulaw"));
      assert.equal(digitsOf(found), "12#");
      found.forEach((d, i) => assert.ok(Math.abs(d.onsetSample - i * 1440) <= 24, `onset ${d.onsetSample}`));
    });

    it("acts as a FrameSource of audio frames", () => {
      const src = new DtmfToneSource("5", { durationMs: 40, gapMs: 0 });
      const a = src.nextFrame();
      const b = src.nextFrame();
      assert.ok(a && a.kind === "audio" && a.talkspurtStart === true && a.pcm.length === 160);
      assert.ok(b && b.kind === "audio" && b.talkspurtStart === false);
      assert.equal(src.nextFrame(), null);
    });

    it("handles 40 ms tones with 40 ms gaps (Q.24 fastest) and lower-case keys", () => {
      const src = new DtmfToneSource("a1b1", { durationMs: 40, gapMs: 40 });
      const frames: Int16Array[] = [];
      for (let f = src.nextPcm(); f !== null; f = src.nextPcm()) frames.push(f);
      assert.equal(digitsOf(detect(g711(concat(...frames), "alaw"))), "A1B1");
    });

    it("rejects invalid keys", () => {
      assert.throws(() => new DtmfToneSource("12x"), RangeError);
      assert.equal(new DtmfToneSource("").nextPcm(), null);
    });
  });
});
