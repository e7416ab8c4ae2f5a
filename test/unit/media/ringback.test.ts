import assert from "node:assert/strict";
import { RINGBACK_PLANS, RINGBACK_SPECS, RingbackSource, isRingbackPlan, ringbackPeriod } from "../../../src/media/ringback.js";
import { SAMPLES_PER_FRAME } from "../../../src/media/audio-format.js";
import { powerToDbm0 } from "../../../src/dtmf/levels.js";

/** Amplitude of one frequency by correlation (plain DFT bin). */
function amplitudeAt(pcm: Int16Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < pcm.length; n++) {
    re += pcm[n] * Math.cos((2 * Math.PI * hz * n) / 8000);
    im += pcm[n] * Math.sin((2 * Math.PI * hz * n) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

function meanPower(pcm: Int16Array): number {
  let p = 0;
  for (const v of pcm) p += v * v;
  return pcm.length ? p / pcm.length : 0;
}

/** On/off runs of 10 ms blocks (true = tone), as ms. */
function cadence(pcm: Int16Array): Array<[boolean, number]> {
  const runs: Array<[boolean, number]> = [];
  for (let i = 0; i + 80 <= pcm.length; i += 80) {
    const on = meanPower(pcm.subarray(i, i + 80)) > 1000;
    const last = runs[runs.length - 1];
    if (last && last[0] === on) last[1] += 10;
    else runs.push([on, 10]);
  }
  return runs;
}

describe("media/ringback", () => {
  it("knows the plans eu, us, uk and nothing else", () => {
    assert.deepEqual([...RINGBACK_PLANS], ["eu", "us", "uk"]);
    for (const p of RINGBACK_PLANS) assert.ok(isRingbackPlan(p));
    for (const p of ["off", "EU", "", undefined, 1]) assert.ok(!isRingbackPlan(p));
  });

  it("eu: 425 Hz, 1 s on, 4 s off, at -13 dBm0", () => {
    const pcm = ringbackPeriod("eu");
    assert.equal(pcm.length, 5 * 8000);
    assert.deepEqual(cadence(pcm), [
      [true, 1000],
      [false, 4000],
    ]);
    const on = pcm.subarray(400, 7600);
    assert.ok(amplitudeAt(on, 425) > 20 * amplitudeAt(on, 440), "425 Hz, not 440 Hz");
    assert.ok(Math.abs(powerToDbm0(meanPower(on)) - RINGBACK_SPECS.eu.levelDbm0) < 0.3, `level ${powerToDbm0(meanPower(on))}`);
  });

  it("us: 440 + 480 Hz, 2 s on, 4 s off", () => {
    const pcm = ringbackPeriod("us");
    assert.deepEqual(cadence(pcm), [
      [true, 2000],
      [false, 4000],
    ]);
    const on = pcm.subarray(800, 15200);
    const a440 = amplitudeAt(on, 440);
    const a480 = amplitudeAt(on, 480);
    assert.ok(Math.abs(a440 - a480) / a440 < 0.05, "both tones at one level");
    assert.ok(a440 > 20 * amplitudeAt(on, 425));
  });

  it("uk: 400 + 450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off", () => {
    const pcm = ringbackPeriod("uk");
    assert.deepEqual(cadence(pcm), [
      [true, 400],
      [false, 200],
      [true, 400],
      [false, 2000],
    ]);
    const on = pcm.subarray(0, 3200);
    assert.ok(amplitudeAt(on, 400) > 10 * amplitudeAt(on, 480));
    assert.ok(amplitudeAt(on, 450) > 10 * amplitudeAt(on, 480));
  });

  it("the source repeats the period in 20 ms frames, and yields nothing while paused", () => {
    let paused = false;
    const src = new RingbackSource("uk", () => paused);
    const period = ringbackPeriod("uk");
    const frames = period.length / SAMPLES_PER_FRAME;
    const got: Int16Array[] = [];
    for (let i = 0; i < frames * 2; i++) {
      const f = src.nextFrame();
      assert.ok(f && f.kind === "audio" && f.pcm.length === SAMPLES_PER_FRAME);
      got.push(f.pcm.slice());
      if (i === 0 || i === frames) assert.equal(f.talkspurtStart, true);
    }
    assert.deepEqual(got[frames], got[0], "the second period starts as the first");
    paused = true;
    assert.equal(src.nextFrame(), null);
    paused = false;
    // The cadence went on while paused: this is the period's third frame, not its second.
    const f = src.nextFrame();
    assert.ok(f && f.kind === "audio");
    assert.deepEqual(f.pcm.slice(), period.slice(2 * SAMPLES_PER_FRAME, 3 * SAMPLES_PER_FRAME));
  });
});
