import * as assert from "assert";
import { resampleFloat32, resampleInt16, RESAMPLER_QUALITY } from "../../../src/speech/resample";
import { amplitudeAt, db, tone, toneInt16 } from "./helpers";

describe("speech/resample", () => {
  it("uses Speex quality 5", () => {
    assert.strictEqual(RESAMPLER_QUALITY, 5);
  });

  it("attenuates a 6 kHz tone at 16 kHz input by more than 40 dB at 8 kHz output", async () => {
    const input = tone(6000, 16000, 1, 0.5);
    const out = await resampleFloat32(input, 16000, 8000);
    // 6 kHz would alias to 2 kHz at 8 kHz: look there and at the total level.
    const alias = amplitudeAt(out, 2000, 8000);
    let energy = 0;
    for (const v of out.subarray(800, 7200)) energy += v * v;
    const rmsOut = Math.sqrt(energy / 6400);
    assert.ok(db(alias / 0.5) < -40, `alias at 2 kHz: ${db(alias / 0.5).toFixed(1)} dB`);
    assert.ok(db(rmsOut / (0.5 / Math.SQRT2)) < -40, `residual: ${db(rmsOut / (0.5 / Math.SQRT2)).toFixed(1)} dB`);
  });

  it("keeps the level of a 1 kHz tone", async () => {
    const out = await resampleFloat32(tone(1000, 16000, 1, 0.5), 16000, 8000);
    const gain = db(amplitudeAt(out, 1000, 8000) / 0.5);
    assert.ok(Math.abs(gain) < 0.2, `gain ${gain.toFixed(2)} dB`);
  });

  it("returns round(n * out / in) samples, time-aligned with the input", async () => {
    const x = new Float32Array(16001);
    x[8000] = 1;
    const y = await resampleFloat32(x, 16000, 8000);
    assert.strictEqual(y.length, 8001);
    let at = 0;
    for (let i = 0; i < y.length; i++) if (Math.abs(y[i]) > Math.abs(y[at])) at = i;
    assert.strictEqual(at, 4000);
  });

  it("resamples 44.1 kHz to 8 kHz keeping a 440 Hz tone", async () => {
    const out = await resampleFloat32(tone(440, 44100, 0.5, 0.3), 44100, 8000);
    assert.strictEqual(out.length, 4000);
    assert.ok(Math.abs(db(amplitudeAt(out, 440, 8000) / 0.3)) < 0.2);
  });

  it("upsamples too (6 kHz to 8 kHz)", async () => {
    const out = await resampleFloat32(tone(500, 6000, 0.5, 0.3), 6000, 8000);
    assert.strictEqual(out.length, 4000);
    assert.ok(Math.abs(db(amplitudeAt(out, 500, 8000) / 0.3)) < 0.2);
  });

  it("converts Int16 with clamping instead of wrap-around", async () => {
    // A full-scale square wave overshoots after band-limiting (Gibbs): must clamp, not wrap.
    const sq = Int16Array.from({ length: 1600 }, (_, i) => (Math.floor(i / 40) % 2 ? -32768 : 32767));
    const out = await resampleInt16(sq, 16000, 8000);
    let max = 0;
    for (let j = 20; j < out.length - 20; j++) {
      max = Math.max(max, out[j]);
      // Half-periods are 20 output samples; a wrapped overshoot shows up as a large value of the wrong sign.
      const positive = Math.floor(j / 20) % 2 === 0;
      const wrong = positive ? out[j] < -25000 : out[j] > 25000;
      assert.ok(!wrong, `sample ${j} = ${out[j]}`);
    }
    assert.strictEqual(max, 32767, "the overshoot was clamped");
  });

  it("runs concurrent conversions independently", async () => {
    const [a, b] = await Promise.all([resampleInt16(toneInt16(1000, 16000, 2), 16000, 8000), resampleInt16(toneInt16(300, 48000, 2), 48000, 8000)]);
    assert.strictEqual(a.length, 16000);
    assert.strictEqual(b.length, 16000);
    assert.ok(Math.abs(db(amplitudeAt(a, 1000, 8000) / 16383)) < 0.2);
    assert.ok(Math.abs(db(amplitudeAt(b, 300, 8000) / 16383)) < 0.2);
  });

  it("copies when the rates match and handles empty input", async () => {
    const x = toneInt16(1000, 8000, 0.1);
    const y = await resampleInt16(x, 8000, 8000);
    assert.notStrictEqual(y, x);
    assert.deepStrictEqual(y, x);
    assert.strictEqual((await resampleFloat32(new Float32Array(0), 44100, 8000)).length, 0);
  });

  it("rejects invalid rates", async () => {
    await assert.rejects(resampleFloat32(new Float32Array(10), 0, 8000), /inRate must be a positive integer/);
    await assert.rejects(resampleFloat32(new Float32Array(10), 16000, 8000.5), /outRate/);
  });
});
