import * as assert from "assert";
import { applyTelephoneEq, TELEPHONE_EQ_DEFAULTS } from "../../../src/speech/telephone-eq";
import { amplitudeAt, db, toneInt16 } from "./helpers";

/** Gain of the EQ (normalisation off) for a tone at freq, in dB. */
function gainAt(freq: number, opts = {}): number {
  const x = toneInt16(freq, 8000, 2, 0.25);
  const y = applyTelephoneEq(x, { peakDbfs: null, ...opts });
  return db(amplitudeAt(y, freq, 8000) / amplitudeAt(x, freq, 8000));
}

describe("speech/telephone-eq", () => {
  it("defaults to a 200 Hz high-pass, treble shelf and -1 dBFS peak", () => {
    assert.strictEqual(TELEPHONE_EQ_DEFAULTS.highPassHz, 200);
    assert.ok(TELEPHONE_EQ_DEFAULTS.shelfGainDb > 0);
    assert.strictEqual(TELEPHONE_EQ_DEFAULTS.peakDbfs, -1);
  });

  it("attenuates 50 Hz by > 20 dB relative to 1 kHz", () => {
    const g50 = gainAt(50);
    const g1k = gainAt(1000);
    assert.ok(g1k - g50 > 20, `50 Hz ${g50.toFixed(1)} dB vs 1 kHz ${g1k.toFixed(1)} dB`);
    assert.ok(Math.abs(gainAt(200) - gainAt(1000, { shelfGainDb: 0 }) + 3) < 1, "-3 dB at the corner");
  });

  it("lifts the treble", () => {
    const g3k = gainAt(3000);
    const g500 = gainAt(500);
    assert.ok(g3k - g500 > 4, `3 kHz ${g3k.toFixed(1)} dB vs 500 Hz ${g500.toFixed(1)} dB`);
    assert.ok(Math.abs(gainAt(3000, { shelfGainDb: 0 }) - gainAt(500, { shelfGainDb: 0 })) < 0.5, "flat with the shelf off");
  });

  it("normalises the peak to -1 dBFS, from quiet and from loud input", () => {
    const target = Math.round(Math.pow(10, -1 / 20) * 32768);
    for (const amp of [0.01, 0.99]) {
      const y = applyTelephoneEq(toneInt16(1000, 8000, 0.5, amp));
      let peak = 0;
      for (const v of y) peak = Math.max(peak, Math.abs(v));
      assert.ok(Math.abs(peak - target) <= 1, `peak ${peak}, wanted ${target}`);
    }
  });

  it("leaves silence silent and keeps the length", () => {
    const y = applyTelephoneEq(new Int16Array(800));
    assert.strictEqual(y.length, 800);
    assert.ok(y.every((v) => v === 0));
  });

  it("clamps instead of wrapping when normalisation is off", () => {
    const y = applyTelephoneEq(toneInt16(3500, 8000, 0.2, 0.99), { peakDbfs: null });
    let max = 0;
    let min = 0;
    for (const v of y) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assert.strictEqual(max, 32767);
    assert.strictEqual(min, -32768);
  });

  it("rejects corners at or above Nyquist", () => {
    assert.throws(() => applyTelephoneEq(new Int16Array(8), { highPassHz: 4000 }), /highPassHz/);
    assert.throws(() => applyTelephoneEq(new Int16Array(8), { shelfHz: 5000 }), /shelfHz/);
  });
});
