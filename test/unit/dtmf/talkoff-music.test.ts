// Talk-off on music-like signals: the detector must stay silent. Pitches are
// equal-tempered and several land within Q.24's tolerance of DTMF
// frequencies (F5 = 698.5 Hz vs 697, F#6 = 1480 Hz vs 1477, A#5 vs 941), so
// what protects us is that real notes carry harmonics. (A bare pair of sine
// waves at DTMF pitches *is* a DTMF tone and is not used here.)
import assert from "node:assert/strict";
import { InbandDtmfDetector, type InbandDtmfDetectorOptions } from "../../../src/dtmf/inband-detector.js";
import { LAWS, RATE, TIMBRES, addNote, atLevel, detect, digitsOf, g711, ms, noteHz, rng } from "./signals.js";

const TIMBRE_NAMES = Object.keys(TIMBRES);

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

/** Random triads and seventh chords, 0.25-0.8 s each, spread over octaves 3-6. */
function chords(seconds: number, seed: number): Float64Array {
  const rand = rng(seed);
  const out = new Float64Array(seconds * RATE);
  const shapes = [
    [0, 4, 7],
    [0, 3, 7],
    [0, 4, 7, 10],
    [0, 3, 6],
    [0, 4, 7, 11],
    [0, 5, 7],
    [0, 4, 8],
  ];
  for (let at = 0; at < out.length;) {
    const len = ms(250 + rand() * 550);
    const root = 48 + Math.floor(rand() * 36);
    const timbre = TIMBRES[pick(rand, TIMBRE_NAMES)];
    for (const iv of pick(rand, shapes)) addNote(out, at, noteHz(root + iv), len + ms(100), timbre, 1, 1 + rand() * 4, at);
    at += len;
  }
  return out;
}

/** A random melody with occasional dyads (two notes), as in simple keyboard music. */
function randomNotes(seconds: number, seed: number): Float64Array {
  const rand = rng(seed);
  const out = new Float64Array(seconds * RATE);
  for (let at = 0; at < out.length;) {
    const len = ms(60 + rand() * 400);
    const timbre = TIMBRES[pick(rand, TIMBRE_NAMES)];
    const note = 55 + Math.floor(rand() * 40);
    addNote(out, at, noteHz(note), len, timbre, 1, 2 + rand() * 6, at);
    if (rand() < 0.4) addNote(out, at, noteHz(note + 3 + Math.floor(rand() * 18)), len, timbre, 0.8, 3, at + 1);
    at += len;
  }
  return out;
}

/** Exponential glide of a harmonic-rich tone (or a bare sine) from f0 to f1. */
function sweep(f0: number, f1: number, seconds: number, harmonics: (k: number) => number): Float64Array {
  const n = Math.round(seconds * RATE);
  const out = new Float64Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const f = f0 * Math.pow(f1 / f0, i / n);
    phase += (2 * Math.PI * f) / RATE;
    let v = 0;
    for (let k = 1; k * f < 3800; k++) v += harmonics(k) * Math.sin(k * phase);
    out[i] = v;
  }
  return out;
}

/** A steady harmonic series, e.g. a sung vowel or an organ pipe. */
function harmonicSeries(f0: number, seconds: number, amp: (k: number) => number): Float64Array {
  const out = new Float64Array(Math.round(seconds * RATE));
  const rand = rng(Math.round(f0 * 1000));
  for (let k = 1; k * f0 < 3800; k++) {
    const w = (2 * Math.PI * k * f0) / RATE;
    const a = amp(k);
    const p = 2 * Math.PI * rand();
    for (let i = 0; i < out.length; i++) out[i] += a * Math.sin(w * i + p);
  }
  return out;
}

function assertNoDigits(signal: Float64Array, what: string): void {
  for (const law of LAWS) {
    for (const dbm0 of [-6, -15, -24]) {
      const found = detect(g711(atLevel(signal, dbm0), law));
      assert.equal(digitsOf(found), "", `${what} (${law}, ${dbm0} dBm0): ${JSON.stringify(found[0])}`);
    }
  }
}

describe("dtmf/inband-detector talk-off on music", function () {
  this.timeout(60_000);

  it("no digits in 2 minutes of random chords", () => {
    assertNoDigits(chords(120, 7), "chords");
  });

  it("no digits in 2 minutes of random notes and dyads", () => {
    assertNoDigits(randomNotes(120, 11), "notes");
  });

  it("no digits in sweeps of sines and harmonic tones", () => {
    // A single sine (fast and slow) can never make a pair; harmonic glides pass
    // fundamentals and overtones through both groups at once.
    assertNoDigits(
      sweep(100, 3800, 6, (k) => (k === 1 ? 1 : 0)),
      "slow sine sweep",
    );
    assertNoDigits(
      sweep(3800, 100, 1, (k) => (k === 1 ? 1 : 0)),
      "fast sine sweep",
    );
    for (const name of TIMBRE_NAMES) {
      assertNoDigits(sweep(80, 1000, 8, TIMBRES[name]), `${name} glide up`);
      assertNoDigits(sweep(1000, 80, 3, TIMBRES[name]), `${name} glide down`);
    }
  });

  // Fundamentals whose harmonics land on a DTMF pair within tolerance:
  // 174.25 Hz (4th = 697, 7th = 1219.75 ~ 1209), 110 Hz (7th = 770, 11th = 1210 ~ 1209),
  // 170.4 Hz (5th = 852, 8th = 1363 ~ 1336), 188.2 Hz (5th = 941, 7th = 1317 ~ 1336).
  const hazards = [174.25, 110, 170.4, 188.2];
  const tilts: Record<string, (k: number) => number> = {
    "1/k": (k) => 1 / k,
    "1/sqrt(k)": (k) => 1 / Math.sqrt(k),
    flat: () => 1,
  };

  it("no digits in steady harmonic series whose overtones sit on DTMF pairs", () => {
    for (const f0 of hazards) {
      for (const [name, tilt] of Object.entries(tilts)) assertNoDigits(harmonicSeries(f0, 2, tilt), `${f0} Hz, ${name}`);
    }
  });

  it("these tests can fail: each guard alone rejects what the others would pass", () => {
    // The flat series at 174.25 Hz reaches the level, twist and frequency
    // checks; the energy-ratio guard and the harmonic guard each reject it.
    const signal = g711(
      atLevel(
        harmonicSeries(174.25, 2, () => 1),
        -6,
      ),
      "mulaw",
    );
    const run = (opts: InbandDtmfDetectorOptions) => digitsOf(new InbandDtmfDetector(opts).process(signal));
    assert.equal(run({ minToneRatio: 0, maxHarmonicDb: 100 }), "1");
    assert.equal(run({ minToneRatio: 0 }), "");
    assert.equal(run({ maxHarmonicDb: 100 }), "");
    // High-register dyads are nearly pure tones; only the overtone check
    // tells them from DTMF.
    const notes = g711(atLevel(randomNotes(120, 11), -10), "mulaw");
    assert.notEqual(digitsOf(new InbandDtmfDetector({ maxHarmonicDb: 100 }).process(notes)), "");
  });
});
